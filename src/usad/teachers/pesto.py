"""``pesto``: PESTO self-supervised pitch estimator (Riou et al. 2023), weights from the ``pesto-pitch`` package
(``pesto/weights/mir-1k_g7.ckpt``). The package imports torchaudio, so the network and its CQT front end are
defined here from the checkpoint's own hyper-parameters. The checkpoint (a Lightning file with OmegaConf
hyper-parameters) is read with ``torch.load(weights_only=True)``; OmegaConf classes are mapped to inert stand-ins
that only hold their state, so nothing from the file is executed.

16 kHz (PESTO builds its CQT for any rate; no resampling); hop 10 ms. Log-magnitude CQT (251 bins, 3 per semitone
from A0, gamma 7), cropped to 219 bins, a small 1-D CNN over frequency, a Toeplitz linear layer, softmax.
Layer 1 = the CNN's flattened output (657-d), layer 2 = the 384-bin pitch activation (bin / 3 = MIDI pitch).
"""
from __future__ import annotations

import collections
import math
import typing

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .assets import package_file
from .base import Teacher, TeacherInfo, TeacherOutput
from .batching import lengths_to_mask

_PIP = "pesto-pitch==2.0.1"
_CKPT = "weights/mir-1k_g7.ckpt"


def static_info(hop_ms: float = 10.0, **_) -> TeacherInfo:
    return TeacherInfo(name="pesto", domain="music", sample_rate=16000, frame_rate=1000.0 / hop_ms, num_layers=2,
                       dims={1: 657, 2: 384}, feature="hidden", licence="LGPL-3.0",
                       extra={"layers": {1: "CNN output (3 x 219)", 2: "pitch activation (384, 1/3 semitone)"},
                              "hop_ms": hop_ms})


def check_available(**_) -> None:
    package_file("pesto", _CKPT, _PIP, no_deps=True)


# ---- safe checkpoint reading ---------------------------------------------------------------------------------
class _Inert:
    """Stand-in for OmegaConf containers: keeps the pickled state, runs nothing."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        self.__dict__.update(state if isinstance(state, dict) else {"_state": state})


_OMEGA = ["omegaconf.listconfig.ListConfig", "omegaconf.dictconfig.DictConfig", "omegaconf.nodes.AnyNode",
          "omegaconf.base.ContainerMetadata", "omegaconf.base.Metadata"]


def _plain(x):
    if isinstance(x, _Inert):
        return _plain(x.__dict__.get("_content", x.__dict__.get("_val")))
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def load_checkpoint(path) -> tuple[dict, dict, dict[str, torch.Tensor]]:
    """-> (hparams, hcqt_params, state_dict) as plain Python objects and tensors."""
    stand_ins = [(type(n.rsplit(".", 1)[1], (_Inert,), {}), n) for n in _OMEGA]
    with torch.serialization.safe_globals(stand_ins + [typing.Any, collections.defaultdict, dict, list, int]):
        ck = torch.load(path, map_location="cpu", weights_only=True)
    return _plain(ck["hparams"]), _plain(ck["hcqt_params"]), ck["state_dict"]


# ---- CQT front end -------------------------------------------------------------------------------------------
def cqt_kernels(sr: int, fmin: float, n_bins: int, bins_per_octave: int, gamma: float
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Time-domain CQT kernels (variable-Q with ``gamma``), L1-normalised Hann-windowed complex exponentials centred
    in a power-of-two frame. -> (kernels (n_bins, width) complex64, lengths (n_bins,))."""
    from scipy.signal import get_window

    q = 1.0 / (2.0 ** (1.0 / bins_per_octave) - 1.0)
    freqs = fmin * 2.0 ** (np.arange(n_bins) / bins_per_octave)
    if freqs.max() > sr / 2:
        raise ValueError(f"pesto: top CQT bin {freqs.max():.0f} Hz exceeds Nyquist at {sr} Hz")
    alpha = 2.0 ** (1.0 / bins_per_octave) - 1.0
    lengths = np.ceil(q * sr / (freqs + gamma / alpha))
    width = int(2 ** np.ceil(np.log2(lengths.max())))
    kern = np.zeros((n_bins, width), dtype=np.complex64)
    for k, (f, l) in enumerate(zip(freqs, lengths)):
        start = int(np.ceil(width / 2.0 - l / 2.0)) - (1 if l % 2 == 1 else 0)
        n = np.arange(-(l // 2) if l % 2 == 0 else -(l // 2) - 1, l // 2)
        sig = get_window("hann", int(l), fftbins=True) * np.exp(1j * 2 * np.pi * f * n / sr) / l
        kern[k, start: start + int(l)] = sig / np.abs(sig).sum()
    return torch.from_numpy(kern), torch.from_numpy(lengths).float()


class CQTLogMag(nn.Module):
    """wav: (S,) -> (1 + S // hop, n_bins) log-magnitude CQT in dB (centred frames, reflect padding)."""

    def __init__(self, sr: int, hop: int, fmin: float, n_bins: int, bins_per_semitone: int, gamma: float,
                 center_bins: bool = True) -> None:
        super().__init__()
        if center_bins:
            fmin = fmin / 2 ** ((bins_per_semitone - 1) / (24 * bins_per_semitone))
        kern, lengths = cqt_kernels(sr, fmin, n_bins, 12 * bins_per_semitone, gamma)
        self.register_buffer("weight", torch.cat([kern.real, -kern.imag])[:, None, :].float(), persistent=False)
        self.register_buffer("sqrt_lengths", lengths.sqrt()[:, None], persistent=False)
        self.hop, self.n_bins, self.width = hop, n_bins, kern.shape[1]

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        n = wav.shape[-1]
        frames = 1 + n // self.hop
        pad = self.width // 2
        x = wav.float()[None, None]
        if n <= pad:  # reflect padding needs a longer signal: zero-extend, then crop the frames back
            x = F.pad(x, (0, pad + 1 - n))
        x = F.pad(x, (pad, pad), mode="reflect")
        c = F.conv1d(x, self.weight.float(), stride=self.hop)[0] * self.sqrt_lengths.float().repeat(2, 1)
        mag = torch.sqrt(c[: self.n_bins] ** 2 + c[self.n_bins:] ** 2)
        return 20.0 * mag.clamp_min(torch.finfo(torch.float32).eps).log10().T[:frames]


# ---- network -------------------------------------------------------------------------------------------------
class PestoNet(nn.Module):
    """cqt_db: (N, 1, 219) -> (embedding (N, 3 * 219), activation (N, 384) softmax)."""

    def __init__(self, hp: dict) -> None:
        super().__init__()
        n_in, bins, ks = hp["n_chan_input"], hp["n_bins_in"], hp["prefilt_kernel_size"]
        ch = list(hp["n_chan_layers"])
        self.slope = hp.get("a_lrelu", 0.3)
        self.residual = hp.get("residual", False)
        self.layernorm = nn.LayerNorm([n_in, bins])
        self.conv1 = nn.ModuleList([nn.Conv1d(n_in, ch[0], ks, padding=ks // 2)])
        self.prefilt_layers = nn.ModuleList(nn.ModuleList([nn.Conv1d(ch[0], ch[0], ks, padding=ks // 2)])
                                            for _ in range(hp["n_prefilt_layers"] - 1))
        self.conv_layers = nn.ModuleDict({str(3 * i): nn.Conv1d(ch[i], ch[i + 1], 1) for i in range(len(ch) - 1)})
        self.out_dim = hp["output_dim"]
        n_flat = bins * ch[-1]
        self.fc = nn.Conv1d(1, 1, n_flat + self.out_dim - 1, padding=self.out_dim - 1, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        act = lambda t: F.leaky_relu(t, self.slope)  # noqa: E731
        x = act(self.conv1[0](self.layernorm(x)))
        for layer in self.prefilt_layers:
            y = act(layer[0](x))
            x = x + y if self.residual else y
        for i in sorted(self.conv_layers, key=int):
            x = act(self.conv_layers[i](x))
        emb = x.flatten(1)
        return emb, torch.softmax(self.fc(emb[:, None]).squeeze(1), dim=-1)


class PestoTeacher(Teacher):
    def __init__(self, hop_ms: float = 10.0) -> None:
        super().__init__()
        hp, hcqt, state = load_checkpoint(package_file("pesto", _CKPT, _PIP, no_deps=True))
        enc = hp["encoder"]
        self.hop = int(hop_ms * 16000 / 1000 + 0.5)
        self.info = static_info(1000.0 * self.hop / 16000)
        self.cqt = CQTLogMag(16000, self.hop, hcqt["fmin"], hcqt["n_bins"], hcqt["bins_per_semitone"],
                             hcqt["gamma"], hcqt.get("center_bins", True))
        self.crop = (hp["pitch_shift"]["max_steps"], hp["pitch_shift"]["min_steps"])
        self.bins_per_semitone = hcqt["bins_per_semitone"]
        self.net = PestoNet(enc)
        sd = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
        sd = {k.replace("conv_layers.", "conv_layers."): v for k, v in sd.items()}
        self.net.load_state_dict(sd, strict=True)
        self.register_buffer("shift", state["shift"].float().reshape(()))
        self.freeze()

    def num_frames(self, num_samples: int) -> int:
        return 1 + int(num_samples) // self.hop

    @staticmethod
    def activation_to_midi(activation: torch.Tensor, bins_per_semitone: int = 3) -> torch.Tensor:
        """(..., 384) -> (...) MIDI pitch by argmax-local weighted averaging."""
        centre = activation.argmax(-1, keepdim=True)
        idx = (centre + torch.arange(-bins_per_semitone + 1, bins_per_semitone, device=activation.device))
        idx = idx.clamp(0, activation.shape[-1] - 1)
        w = activation.gather(-1, idx)
        return (w * idx.float()).sum(-1) / w.sum(-1).clamp_min(1e-12) / bins_per_semitone

    def _forward(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        specs = [self.cqt(wav[b, : int(n)]) for b, n in enumerate(lengths.tolist())]
        counts = [s.shape[0] for s in specs]
        x = torch.cat(specs)[:, None, self.crop[0]: self.crop[1]].to(self.net.fc.weight.dtype)
        emb, act = self.net(x)
        act = act.roll(-round(float(self.shift) * self.bins_per_semitone), -1)
        per_layer = {1: emb, 2: act}
        T = max(counts)
        feats = {}
        for l in layers:
            out = per_layer[l].new_zeros(len(counts), T, per_layer[l].shape[-1])
            start = 0
            for b, t in enumerate(counts):
                out[b, :t] = per_layer[l][start: start + t]
                start += t
            feats[l] = out
        mask = lengths_to_mask(torch.tensor(counts, device=wav.device), T)
        return TeacherOutput(features=feats, mask=mask, frame_rate=self.info.frame_rate)
