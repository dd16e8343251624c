"""Encoder configuration, presets and the one frame-count formula."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from usad.errors import ConfigError
from usad.frontend import num_fbank_frames
from usad.model.whisper_stem import whisper_frames

ATTENTION_SCHEMES = ("sdpa", "relpos")
FRONTENDS = ("fbank", "whisper")


@dataclass
class EncoderConfig:
    """Student encoder hyper-parameters. ``frame_rate`` is 50.0 (x2 time stride) or 25.0 (x4).

    ``attention``: "sdpa" (conv positional encoder only; fastest) or "relpos" (Transformer-XL style relative
    positional MHSA on top, matching the published parameter counts).

    ``frontend``: "fbank" (the method's Kaldi fbank -> 2-D conv subsampler) or "whisper" (Whisper's log-mel ->
    1-D conv stem + fixed sinusoidal positions, 50 Hz only; :mod:`usad.model.whisper_stem`), the layout a Whisper
    encoder's weights can seed. ``conv_channels`` is unused by the latter. ``spectral_branch`` (whisper only) adds
    the fbank path through a per-channel gate (:class:`usad.model.whisper_stem.SpectralBranch`) that starts at
    ``spectral_gate_init``: 0 (the student starts as the Whisper encoder it is seeded from) or a small value that
    lets the branch's random features, which keep the pitch and onset detail of the input, in from the first step.
    """

    dim: int = 384
    num_layers: int = 12
    num_heads: int = 6
    frame_rate: float = 50.0
    attention: str = "sdpa"
    n_mels: int = 128
    conv_channels: int = 64
    conv_pos_depth: int = 5
    conv_pos_width: int = 95
    conv_pos_groups: int = 16
    ffn_mult: int = 4
    dropout: float = 0.1
    attention_dropout: float = 0.0
    layer_norm_eps: float = 1e-5
    init_std: float = 0.02
    gradient_checkpointing: bool = False
    frontend: str = "fbank"
    spectral_branch: bool = False
    spectral_gate_init: float = 0.0

    def __post_init__(self) -> None:
        wrong = _type_problems(self)
        if wrong:
            raise ConfigError("invalid EncoderConfig: " + "; ".join(wrong))
        self.frame_rate = float(self.frame_rate)
        problems = []
        if self.attention not in ATTENTION_SCHEMES:
            problems.append(f"attention must be one of {ATTENTION_SCHEMES}, got {self.attention!r}")
        if self.frontend not in FRONTENDS:
            problems.append(f"frontend must be one of {FRONTENDS}, got {self.frontend!r}")
        elif self.frontend == "whisper" and self.frame_rate != 50.0:
            problems.append(f"frontend 'whisper' runs at 50 Hz only; got frame_rate {self.frame_rate}")
        if self.spectral_branch and self.frontend != "whisper":
            problems.append("spectral_branch adds the fbank path beside the Whisper front end; it needs "
                            "frontend 'whisper' (the fbank front end has it already)")
        if self.spectral_gate_init and not self.spectral_branch:
            problems.append("spectral_gate_init sets the spectral branch's gate; it needs spectral_branch: true")
        if self.frame_rate not in (50.0, 25.0):
            problems.append(f"frame_rate must be 50.0 or 25.0, got {self.frame_rate}")
        if self.dim <= 0 or self.num_layers < 0 or self.num_heads <= 0:
            problems.append("dim, num_heads must be positive and num_layers >= 0")
        elif self.dim % self.num_heads:
            problems.append(f"dim ({self.dim}) must be divisible by num_heads ({self.num_heads})")
        if self.conv_pos_groups <= 0 or self.dim % self.conv_pos_groups:
            problems.append(f"dim ({self.dim}) must be divisible by conv_pos_groups ({self.conv_pos_groups})")
        if self.conv_pos_depth < 0:
            problems.append("conv_pos_depth must be >= 0")
        if problems:
            raise ConfigError("invalid EncoderConfig: " + "; ".join(problems))

    @property
    def time_stride(self) -> int:
        """Encoder frames per fbank frame: 2 (50 Hz) or 4 (25 Hz)."""
        return 2 if self.frame_rate == 50.0 else 4

    @property
    def hop_samples(self) -> int:
        """Samples between encoder frames at 16 kHz: 320 (50 Hz) or 640 (25 Hz)."""
        return 160 * self.time_stride

    @property
    def conv_pos_kernel(self) -> int:
        """Kernel of each positional conv layer: the total width split over the depth (95 // 5 = 19), made odd."""
        k = max(3, self.conv_pos_width // max(1, self.conv_pos_depth))
        return k if k % 2 else k + 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "EncoderConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown EncoderConfig fields {unknown}; known: {sorted(known)}")
        return cls(**data)


_KINDS = {"int": int, "float": float, "str": str, "bool": bool}


def _type_problems(config: EncoderConfig) -> list[str]:
    """Fields whose value is not of the declared type (ints count as floats; bools are not numbers)."""
    problems = []
    for f in fields(config):
        kind, value = _KINDS[str(f.type)], getattr(config, f.name)
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        else:
            ok = isinstance(value, kind)
        if not ok:
            problems.append(f"field {f.name!r} must be {'a finite ' if kind is float else 'a '}{kind.__name__}, "
                            f"got {value!r} ({type(value).__name__})")
    return problems


PRESETS: dict[str, dict] = {
    "small": dict(dim=384, num_layers=12, num_heads=6, frame_rate=50.0),
    "base": dict(dim=768, num_layers=12, num_heads=12, frame_rate=50.0),
    "large": dict(dim=1024, num_layers=24, num_heads=16, frame_rate=50.0),
    "xlarge": dict(dim=1280, num_layers=32, num_heads=20, frame_rate=25.0),
    "xxlarge": dict(dim=1280, num_layers=48, num_heads=20, frame_rate=25.0),
}

# Published parameter counts (docs/method.md, section 1), reproduced within 1% by attention="relpos".
PUBLISHED_PARAMS = {"small": 24.8e6, "base": 97.2e6, "large": 336e6, "xlarge": 695e6, "xxlarge": 1036e6}


def preset_config(name: str, **overrides) -> EncoderConfig:
    key = name.lower().replace("-", "")
    if key not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return EncoderConfig(**{**PRESETS[key], **overrides})


def num_frames(num_samples: int, frame_rate: float = 50.0, frontend: str = "fbank") -> int:
    """Encoder frames for ``num_samples`` at 16 kHz.

    fbank: ``F = 0 if S < 400 else 1 + (S - 400) // 160`` fbank frames (25 ms / 10 ms, snip_edges), then each
    stride-2 time stage (one at 50 Hz, two at 25 Hz) maps ``T -> ceil(T / 2)``; i.e. ``ceil(F / 2)`` or
    ``ceil(F / 4)``. whisper: ``ceil(S / 320)`` (each clip padded to a multiple of 20 ms).
    """
    if frontend == "whisper":
        return whisper_frames(int(num_samples))
    stride = 2 if float(frame_rate) == 50.0 else 4
    f = num_fbank_frames(int(num_samples))
    return -(-f // stride)
