"""Load any encoder for evaluation behind one frozen feature-extractor interface.

Specs:
- ``student:DIR``              a trained student saved with ``Encoder.save_pretrained`` (safetensors + config.json)
- ``preset:NAME[,k=v,...]``    a randomly initialised student of a preset (seed 0), e.g. ``preset:small,num_layers=2``
                               (a baseline / mechanics check: random weights, not a trained model)
- ``teacher:NAME[,k=v,...]``   any teacher from ``usad.teachers.registry`` (``teacher:whisper-base``,
                               ``teacher:whisper-base,window=clip``, ``teacher:test:64x4@50``, ``teacher:hf:/path``);
                               ``k=v`` are ``load_teacher`` options
- ``random:DIR``               control: a randomly initialised encoder with exactly the config of the student in
                               DIR (fixed seed 0): what the architecture gives before any training
- ``spectral:fbank``           control: the student's own log-mel front end (128-bin Kaldi fbank, 100 Hz), no
                               network; clip tasks pool it as mean and standard deviation per bin

Every source returns all of its layers, a frame mask and its frame rate for 16 kHz input, and carries an
``identity`` string that changes whenever its weights change (the feature-cache key).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from usad.errors import ConfigError


@dataclass
class Extracted:
    """layers[name]: (B, T, D_l) float; mask: (B, T) bool, True = valid frame; frame_rate in Hz."""

    layers: dict[str, torch.Tensor]
    mask: torch.Tensor
    frame_rate: float


class FeatureSource:
    """A frozen encoder. ``source(wav: (B, S) 16 kHz, lengths: (B,)) -> Extracted``."""

    spec: str
    kind: str            # "student" | "teacher" | "control"
    identity: str
    pool: str = "mean"   # how clip-level tasks pool frames: "mean" | "mean_std"
    domain: str | None   # a teacher's declared domain ("speech" | "sound" | "music" | "any"); None for students
    frame_rate: float
    layer_names: list[str]
    module: torch.nn.Module

    def __call__(self, wav: torch.Tensor, lengths: torch.Tensor) -> Extracted:
        raise NotImplementedError

    def to(self, device: str | torch.device) -> "FeatureSource":
        self.module.to(device)
        return self

    @property
    def device(self) -> torch.device:
        p = next(self.module.parameters(), None)
        return p.device if p is not None else torch.device("cpu")


class StudentSource(FeatureSource):
    """hidden_states 0..L of a ``usad.Encoder`` as layers "0".."L" (0 = input to block 1)."""

    kind = "student"
    domain = None

    def __init__(self, encoder: torch.nn.Module, spec: str, identity: str) -> None:
        self.module = encoder.eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.spec, self.identity = spec, identity
        cfg = encoder.config
        self.frame_rate = float(cfg.frame_rate)
        self.layer_names = [str(i) for i in range(cfg.num_layers + 1)]

    @torch.no_grad()
    def __call__(self, wav: torch.Tensor, lengths: torch.Tensor) -> Extracted:
        out = self.module(wav, lengths=lengths)
        return Extracted({str(i): h for i, h in enumerate(out.hidden_states)}, out.mask, float(out.frame_rate))


class RandomInitSource(StudentSource):
    """A control: the architecture of a student, randomly initialised (no training)."""

    kind = "control"


class SpectralSource(FeatureSource):
    """A control: log-mel fbank frames (the student's front end), one layer ``"fbank"`` at 100 Hz."""

    kind = "control"
    domain = None
    pool = "mean_std"

    def __init__(self, spec: str, num_bins: int = 128) -> None:
        from usad.frontend import KaldiFbank

        self.module = KaldiFbank(num_bins).eval()
        self.spec, self.identity = spec, f"spectral|fbank{num_bins}|mean_std"
        self.frame_rate = 100.0
        self.layer_names = ["fbank"]

    @property
    def device(self) -> torch.device:
        return self.module.mel_banks.device

    @torch.no_grad()
    def __call__(self, wav: torch.Tensor, lengths: torch.Tensor) -> Extracted:
        from usad.frontend import FRAME_LENGTH

        if wav.shape[1] < FRAME_LENGTH:   # shorter than one 25 ms frame: pad so the clip gets no valid frame
            wav = torch.nn.functional.pad(wav, (0, FRAME_LENGTH - wav.shape[1]))
        feats, n = self.module(wav, lengths)
        mask = torch.arange(feats.shape[1], device=feats.device)[None, :] < n[:, None]
        return Extracted({"fbank": feats}, mask, self.frame_rate)


class TeacherSource(FeatureSource):
    """Every layer a teacher declares (``info.dims``), named by its layer number."""

    kind = "teacher"

    def __init__(self, teacher: torch.nn.Module, spec: str) -> None:
        self.module = teacher.freeze() if hasattr(teacher, "freeze") else teacher.eval()
        info = teacher.info
        self.spec, self.domain = spec, info.domain
        self.frame_rate = float(info.frame_rate)
        self._layers = sorted(info.dims)
        self.layer_names = [str(l) for l in self._layers]
        self.identity = f"{spec}|layers={self._layers}|dims={[info.dims[l] for l in self._layers]}"

    @torch.no_grad()
    def __call__(self, wav: torch.Tensor, lengths: torch.Tensor) -> Extracted:
        out = self.module(wav, lengths, layers=self._layers)
        return Extracted({str(l): out.features[l] for l in self._layers}, out.mask, float(out.frame_rate))


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:16]


def parse_overrides(text: str) -> dict:
    out: dict = {}
    for item in filter(None, text.split(",")):
        if "=" not in item:
            raise ConfigError(f"encoder option {item!r} must look like key=value (e.g. num_layers=2, window=clip)")
        k, v = item.split("=", 1)
        for cast in (int, float):
            try:
                out[k.strip()] = cast(v)
                break
            except ValueError:
                continue
        else:
            out[k.strip()] = v.strip()
    return out


def load_source(spec: str, device: str | torch.device = "cpu", seed: int = 0) -> FeatureSource:
    """Build a frozen FeatureSource from a spec string (see the module docstring)."""
    kind, _, arg = spec.partition(":")
    if not arg:
        raise ConfigError(f"encoder spec {spec!r}: expected student:DIR, preset:NAME, teacher:NAME, random:DIR or "
                         "spectral:fbank")
    if kind == "student":
        from usad import Encoder

        from usad import hub

        path = hub.resolve(arg)   # a local folder, or a hub id downloaded into the huggingface_hub cache
        weights = sorted(path.glob("*.safetensors")) if path.is_dir() else []
        if not weights:
            raise ConfigError(f"encoder spec {spec!r}: {path} has no *.safetensors; point at a folder "
                                    "written by Encoder.save_pretrained (or usad distill's student/ folder)")
        digest = hashlib.sha256("".join(_file_digest(w) for w in weights).encode()).hexdigest()[:16]
        enc = Encoder.from_pretrained(str(path))
        return StudentSource(enc, spec, f"student|{digest}").to(device)
    if kind == "preset":
        from usad import Encoder

        name, _, rest = arg.partition(",")
        overrides = parse_overrides(rest)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            enc = Encoder.from_preset(name, **overrides)
        return StudentSource(enc, spec, f"preset|{name}|{sorted(overrides.items())}|seed={seed}").to(device)
    if kind == "random":
        from usad import Encoder
        from usad.checkpoint import read_config
        from usad.model import EncoderConfig

        path = Path(arg)
        cfg = EncoderConfig.from_dict(read_config(path))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            enc = Encoder(cfg)
        ident = hashlib.sha256(repr(sorted(cfg.to_dict().items())).encode()).hexdigest()[:16]
        return RandomInitSource(enc, spec, f"random|{ident}|seed={seed}").to(device)
    if kind == "spectral":
        if arg != "fbank":
            raise ConfigError(f"encoder spec {spec!r}: the spectral control is spectral:fbank")
        return SpectralSource(spec).to(device)
    if kind == "teacher":
        from usad.teachers.registry import load_teacher

        name, _, rest = arg.partition(",")
        return TeacherSource(load_teacher(name, device=device, **parse_overrides(rest)), spec)
    raise ConfigError(f"encoder spec {spec!r}: unknown kind {kind!r}; use student:, preset:, teacher:, random: or "
                     "spectral:")


def source_label(spec: str) -> str:
    """A short display name for an encoder spec (``student:runs/x/student`` -> ``student:x``)."""
    kind, _, arg = spec.partition(":")
    if kind in ("student", "random"):
        p = Path(arg.rstrip(os.sep))
        return f"{kind}:{p.parent.name if p.name == 'student' else p.name}"
    return spec
