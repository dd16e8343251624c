"""The teacher contract: anything that maps 16 kHz waveforms to named layer features with a frame mask.

Every concrete teacher (transformers models, package-bundled models, cached features, a test teacher) implements
this one interface, so distillation and evaluation never special-case a model.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

DOMAINS = ("speech", "sound", "music", "any")


@dataclass
class TeacherOutput:
    """features[layer]: (B, T, D) float; mask: (B, T) bool, True = valid frame; frame_rate in Hz."""

    features: dict[int, torch.Tensor]
    mask: torch.Tensor
    frame_rate: float


@dataclass
class TeacherInfo:
    """What a teacher declares about itself. ``dims[layer]`` is the feature size of each layer it can return.

    Layers are numbered 1..num_layers (0 may mean the input embedding where a model has one); ``feature`` says
    whether a layer means the hidden state or the FFN output ("hidden" or "ffn").
    """

    name: str
    domain: str
    sample_rate: int
    frame_rate: float
    num_layers: int
    dims: dict[int, int]
    feature: str = "hidden"
    licence: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise ValueError(f"teacher {self.name!r}: domain must be one of {DOMAINS}, got {self.domain!r}")


class Teacher(nn.Module):
    """Frozen expert. Subclasses set ``self.info`` and implement ``_forward``.

    ``forward(wav, lengths, layers)`` takes 16 kHz mono waveforms ``wav: (B, S)`` with ``lengths: (B,)`` valid
    samples, resamples to the teacher's own rate, runs no deeper than ``max(layers)`` and returns a TeacherOutput.
    """

    info: TeacherInfo

    def __init__(self) -> None:
        super().__init__()

    # convenience accessors
    @property
    def name(self) -> str:
        return self.info.name

    @property
    def domain(self) -> str:
        return self.info.domain

    @property
    def frame_rate(self) -> float:
        return self.info.frame_rate

    def default_layers(self, k: int = 4) -> list[int]:
        """Sparse layer selection floor(k * L / K), k = 1..K (docs/method.md, section 2)."""
        n = self.info.num_layers
        k = min(k, n)
        return sorted({max(1, (i * n) // k) for i in range(1, k + 1)})

    def freeze(self) -> "Teacher":
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)
        return self

    def train(self, mode: bool = True) -> "Teacher":  # teachers are always in eval mode
        return super().train(False)

    @torch.no_grad()
    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None,
                layers: list[int] | None = None, *, ids: list[str] | None = None,
                offsets: torch.Tensor | None = None) -> TeacherOutput:
        """wav: (B, S) 16 kHz (or (S,)); lengths: (B,) valid samples; layers: which layers to return.

        ``ids`` (clip ids from the manifest) and ``offsets`` ((B,) seconds: where the crop ``wav`` starts inside the
        clip) are only read by teachers whose ``uses_ids`` is True (cached features); live teachers ignore them.
        """
        if wav.dim() == 1:
            wav = wav.unsqueeze(0)
        if lengths is None:
            lengths = torch.full((wav.shape[0],), wav.shape[1], dtype=torch.long, device=wav.device)
        layers = sorted(set(layers)) if layers else self.default_layers()
        bad = [l for l in layers if l not in self.info.dims]
        if bad:
            raise ValueError(f"teacher {self.name!r} has no layer(s) {bad}; available: {sorted(self.info.dims)}")
        lengths = lengths.to(wav.device)
        if self.uses_ids:
            if ids is None:
                raise ValueError(f"teacher {self.name!r} reads cached features: pass ids=[clip ids] "
                                 "(and offsets= in seconds when wav is a crop of the clip)")
            if len(ids) != wav.shape[0]:
                raise ValueError(f"teacher {self.name!r}: got {len(ids)} ids for a batch of {wav.shape[0]}")
            return self._forward_ids(wav, lengths, layers, list(ids), offsets)
        return self._forward(wav, lengths, layers)

    #: True for teachers that look clips up by id (``CachedTeacher``); they implement ``_forward_ids``.
    uses_ids: bool = False

    def _forward(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        raise NotImplementedError

    def _forward_ids(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int], ids: list[str],
                     offsets: torch.Tensor | None) -> TeacherOutput:
        raise NotImplementedError
