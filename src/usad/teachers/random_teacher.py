"""``test:<dim>x<layers>@<rate>``: a tiny random teacher for unit tests of other areas. NOT a real model.

Random (seeded) weights, any frame rate, 16 kHz input. Each clip is processed on its own valid samples, so a clip
gives the same frames alone or inside a padded batch. Optional domain suffix: ``test:16x4@25:music``.
"""
from __future__ import annotations

import math
import re
import zlib

import torch
from torch import nn

from usad.errors import ConfigError

from .base import Teacher, TeacherInfo, TeacherOutput
from .batching import lengths_to_mask

_PATTERN = re.compile(r"^test:(\d+)x(\d+)@([0-9.]+)(?::(speech|sound|music|any))?$")
_POINTS = 8  # samples summarised per frame


def parse_test_name(name: str) -> tuple[int, int, float, str]:
    m = _PATTERN.match(name)
    if not m:
        raise ConfigError(f"test teacher name {name!r} must look like test:<dim>x<layers>@<rate>[:<domain>], "
                          "e.g. test:16x4@50 or test:8x2@86.13:music")
    dim, layers, rate = int(m.group(1)), int(m.group(2)), float(m.group(3))
    if dim < 1 or layers < 1 or rate <= 0:
        raise ConfigError(f"test teacher {name!r}: dim, layers and rate must be positive")
    return dim, layers, rate, m.group(4) or "any"


def test_info(name: str) -> TeacherInfo:
    dim, layers, rate, domain = parse_test_name(name)
    return TeacherInfo(name=name, domain=domain, sample_rate=16000, frame_rate=rate, num_layers=layers,
                       dims={l: dim for l in range(0, layers + 1)}, feature="hidden",
                       licence="random weights (unit tests only)", extra={"random": True})


class RandomTestTeacher(Teacher):
    """Layer 0 = a linear embedding of per-frame waveform summaries; layer l = tanh residual MLP block l."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.info = test_info(name)
        dim, n, _, _ = parse_test_name(name)
        gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
        self.embed = nn.Linear(_POINTS, dim)
        self.blocks = nn.ModuleList(nn.Linear(dim, dim) for _ in range(n))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(max(1, p.shape[-1])))
        self.freeze()

    def num_frames(self, num_samples: int) -> int:
        return int(math.ceil(num_samples * self.info.frame_rate / 16000 - 1e-9))

    def _forward(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        counts = [max(1, self.num_frames(int(n))) for n in lengths]
        T = max(counts)
        dtype = self.embed.weight.dtype
        summ = wav.new_zeros(wav.shape[0], T, _POINTS, dtype=torch.float32)
        for b, (n, t) in enumerate(zip(lengths.tolist(), counts)):
            x = wav[b, : max(1, n)].float()[None, None]
            summ[b, :t] = nn.functional.interpolate(x, size=t * _POINTS, mode="linear").view(t, _POINTS)
        mask = lengths_to_mask(torch.tensor(counts, device=wav.device), T)
        h = self.embed(summ.to(dtype))
        feats = {0: h} if 0 in layers else {}
        for i, block in enumerate(self.blocks[: max(layers)], start=1):
            h = h + torch.tanh(block(h))
            if i in layers:
                feats[i] = h
        feats = {l: f * mask[..., None].to(f.dtype) for l, f in feats.items()}
        return TeacherOutput(features=feats, mask=mask, frame_rate=self.info.frame_rate)
