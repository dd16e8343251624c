"""How an encoder is named, and the frozen encoder a name loads: one grammar and one object for every verb
(``usad extract``, ``probe``, ``llm-eval``, ``demo``) and for the adapters.

Specs:
- ``student:DIR``              a trained student saved with ``Encoder.save_pretrained`` (safetensors + config.json);
                               a bare folder or hub id ``org/name`` means the same
- ``preset:NAME[,k=v,...]``    a randomly initialised student of a preset (seed 0), e.g. ``preset:small,num_layers=2``
                               (a baseline / mechanics check: random weights, not a trained model)
- ``teacher:NAME[,k=v,...]``   any teacher from ``usad.teachers.registry`` (``teacher:whisper-base``,
                               ``teacher:whisper-base,window=clip``, ``teacher:test:64x4@50``, ``teacher:hf:/path``);
                               ``k=v`` are ``load_teacher`` options
- ``random:DIR``               control: a randomly initialised encoder with exactly the config of the student in
                               DIR (fixed seed 0): what the architecture gives before any training
- ``spectral:fbank``           control: the student's own log-mel front end (128-bin Kaldi fbank, 100 Hz), no
                               network; clip tasks pool it as mean and standard deviation per bin

:func:`load_frozen` gives a :class:`FrozenEncoder`: its layers (all, or the ones asked for) with a frame mask and
its frame rate for 16 kHz input, and an ``identity`` string that changes whenever its weights change (the
feature-cache key).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from usad.errors import ConfigError

KINDS = ("student", "preset", "teacher", "random", "spectral")
STUDENT_KINDS = ("student", "preset", "random")   # specs that name a usad.Encoder
SPEC_HELP = ("student:DIR (or a folder / hub id org/name) | preset:NAME[,k=v] | teacher:NAME[,k=v] | random:DIR | "
             "spectral:fbank")


# ---- the grammar -------------------------------------------------------------------------------------------
def parse_options(text: str) -> dict:
    """``"num_layers=2,window=clip"`` -> ``{"num_layers": 2, "window": "clip"}`` (ints and floats cast)."""
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


@dataclass
class EncoderSpec:
    """A parsed spec: ``kind`` (one of KINDS), ``target`` (a folder, hub id, preset or teacher name, ``fbank``)
    and ``options`` (preset fields or teacher options)."""

    kind: str
    target: str
    options: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The spec written out, e.g. ``teacher:whisper-base,window=clip``."""
        return ",".join([f"{self.kind}:{self.target}"] + [f"{k}={v}" for k, v in sorted(self.options.items())])

    @property
    def label(self) -> str:
        """A short display name (``student:runs/x/student`` -> ``student:x``)."""
        if self.kind in ("student", "random"):
            p = Path(self.target.rstrip(os.sep))
            return f"{self.kind}:{p.parent.name if p.name == 'student' else p.name}"
        return self.text


def parse_spec(text: str) -> EncoderSpec:
    """Parse an encoder spec (see the module docstring); ConfigError saying the grammar when it does not parse."""
    kind, sep, arg = str(text).partition(":")
    if not sep:   # a bare folder or hub id
        kind, arg = "student", str(text)
    if kind not in KINDS or not arg:
        raise ConfigError(f"encoder spec {text!r}: expected {SPEC_HELP}")
    if kind in ("preset", "teacher"):
        arg, _, rest = arg.partition(",")
        return EncoderSpec(kind, arg, parse_options(rest))
    if kind == "spectral" and arg != "fbank":
        raise ConfigError(f"encoder spec {text!r}: the spectral control is spectral:fbank")
    return EncoderSpec(kind, arg)


def teacher_spec(name: str, options: dict | None = None) -> str:
    """The spec of a teacher with its options (a recipe's ``teachers[]`` entry evaluated as trained on)."""
    return EncoderSpec("teacher", name, dict(options or {})).text


# ---- loading -----------------------------------------------------------------------------------------------
def student_encoder(spec: EncoderSpec, seed: int = 0):
    """The ``usad.Encoder`` a student, preset or random spec names (random weights drawn with ``seed``)."""
    from usad import Encoder

    if spec.kind == "student":
        from usad import hub

        return Encoder.from_pretrained(hub.resolve(spec.target))   # a folder, or a hub id fetched into its cache
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if spec.kind == "preset":
            return Encoder.from_preset(spec.target, **spec.options)
        if spec.kind == "random":
            from usad.checkpoint import read_config
            from usad.model import EncoderConfig

            return Encoder(EncoderConfig.from_dict(read_config(Path(spec.target))))
    raise ConfigError(f"encoder spec {spec.text!r}: a {spec.kind} spec is not a usad student; use student:DIR, a "
                      f"folder, a hub id org/name, preset:NAME or random:DIR")


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _identity(spec: EncoderSpec, encoder, seed: int) -> str:
    if spec.kind == "student":
        weights = sorted(Path(spec.target).glob("*.safetensors"))
        return f"student|{hashlib.sha256(''.join(map(_file_digest, weights)).encode()).hexdigest()[:16]}"
    if spec.kind == "preset":
        return f"preset|{spec.target}|{sorted(spec.options.items())}|seed={seed}"
    config = hashlib.sha256(repr(sorted(encoder.config.to_dict().items())).encode()).hexdigest()[:16]
    return f"random|{config}|seed={seed}"


def _device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"device {device!r}: {exc}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device}: torch sees no GPU here; use cpu")
    return dev


def load_frozen(spec: str, device: str | torch.device = "cpu", *, dtype: str = "float32", feature: str = "hidden",
                seed: int = 0) -> "FrozenEncoder":
    """The frozen encoder ``spec`` names, on ``device``.

    ``dtype`` ("auto" | "float32" | "bfloat16" | "float16"; see usad.precision) is how students run; teachers stay
    float32 unless bfloat16/float16 is asked for (bf16 fidelity was checked for the student, not for every
    teacher). ``feature``: a student's hidden states (layers 0..L) or FFN outputs (1..L)."""
    from usad.precision import TORCH_DTYPES, describe, resolve_dtype

    parsed, dev = parse_spec(spec), _device(device)
    if parsed.kind == "teacher":
        from usad.teachers.registry import load_teacher   # lazy: teachers pull heavy optional packages

        asked = None if dtype in ("auto", "float32") else TORCH_DTYPES[dtype]
        teacher = load_teacher(parsed.target, device=dev, dtype=asked, **parsed.options)
        return TeacherEncoder(teacher, spec, dev, "float32" if asked is None else f"{dtype} (asked for)")
    if parsed.kind == "spectral":
        return SpectralControl(spec).to(dev)
    if parsed.kind == "student":   # a folder, or a hub id fetched into its cache once
        from usad import hub

        parsed = EncoderSpec("student", str(hub.resolve(parsed.target)))
    encoder = student_encoder(parsed, seed)
    runs = resolve_dtype(dtype, dev)
    cls = RandomInitControl if parsed.kind == "random" else StudentEncoder
    return cls(encoder, spec, _identity(parsed, encoder, seed), feature, runs, describe(runs, dtype, dev)).to(dev)


# ---- the loaded encoder ------------------------------------------------------------------------------------
@dataclass
class Extracted:
    """layers[name]: (B, T, D_l) float; mask: (B, T) bool, True = valid frame; frame_rate in Hz."""

    layers: dict[str, torch.Tensor]
    mask: torch.Tensor
    frame_rate: float


class FrozenEncoder:
    """A frozen encoder behind one call: ``enc(wav: (B, S) 16 kHz, lengths: (B,), layers=None) -> Extracted``
    (``layers``: names from ``layer_names``; None = all of them)."""

    spec: str
    kind: str                    # "student" | "teacher" | "control"
    identity: str
    pool: str = "mean"           # how clip-level tasks pool frames: "mean" | "mean_std"
    domain: str | None = None    # a teacher's declared domain ("speech" | "sound" | "music" | "any")
    feature: str = "hidden"      # "hidden" | "ffn" (students), a teacher's declared feature
    chunks_long_audio = False    # True: ``extract_long`` runs one long clip in chunks with bounded memory
    precision: str = "float32"   # what runs, and why
    frame_rate: float
    layer_names: list[str]
    default_layers: list[str]    # what ``usad extract --layers all`` writes
    dims: dict[str, int]         # layer name -> width
    module: torch.nn.Module
    device: torch.device = torch.device("cpu")

    def __call__(self, wav: torch.Tensor, lengths: torch.Tensor, layers: Sequence[str] | None = None) -> Extracted:
        with torch.no_grad():
            return self._run(wav.to(self.device), lengths.to(self.device), list(layers or self.layer_names))

    def _run(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[str]) -> Extracted:
        raise NotImplementedError

    def to(self, device: str | torch.device) -> "FrozenEncoder":
        self.module.to(device)
        self.device = torch.device(device)
        return self


class StudentEncoder(FrozenEncoder):
    """hidden_states 0..L (or FFN outputs 1..L) of a ``usad.Encoder`` as layers "0".."L" (0 = input to block 1)."""

    kind = "student"
    chunks_long_audio = True

    def __init__(self, encoder: torch.nn.Module, spec: str, identity: str, feature: str = "hidden",
                 dtype: str = "float32", precision: str = "float32") -> None:
        if feature not in ("hidden", "ffn"):
            raise ConfigError(f"feature must be 'hidden' or 'ffn', got {feature!r}")
        self.module = encoder.eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.spec, self.identity, self.feature, self.dtype, self.precision = spec, identity, feature, dtype, precision
        cfg = encoder.config
        self.frame_rate = float(cfg.frame_rate)
        self.layer_names = [str(i) for i in range(0 if feature == "hidden" else 1, cfg.num_layers + 1)]
        self.default_layers = [str(i) for i in range(1, cfg.num_layers + 1)]
        self.dims = {name: int(cfg.dim) for name in self.layer_names}

    def _pick(self, out, layers: list[str]) -> Extracted:
        return Extracted({l: out.layer(int(l), self.feature) for l in layers}, out.mask, float(out.frame_rate))

    def _run(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[str]) -> Extracted:
        from usad.precision import autocast

        with autocast(self.device, self.dtype):
            return self._pick(self.module(wav, lengths=lengths, target_layer=max(map(int, layers))), layers)

    def extract_long(self, wav: torch.Tensor, layers: Sequence[str], chunk_seconds: float = 30.0) -> Extracted:
        """One long clip ``(S,)`` in chunks of ``chunk_seconds`` with context (``Encoder.extract_long``)."""
        from usad.precision import autocast

        layers = list(layers)
        with torch.no_grad(), autocast(self.device, self.dtype):
            out = self.module.extract_long(wav, chunk_seconds=chunk_seconds, target_layer=max(map(int, layers)),
                                           include_ffn=self.feature == "ffn")
        return self._pick(out, layers)


class RandomInitControl(StudentEncoder):
    """A control: the architecture of a student, randomly initialised (no training)."""

    kind = "control"


class SpectralControl(FrozenEncoder):
    """A control: log-mel fbank frames (the student's front end), one layer ``"fbank"`` at 100 Hz."""

    kind = "control"
    pool = "mean_std"

    def __init__(self, spec: str, num_bins: int = 128) -> None:
        from usad.frontend import KaldiFbank

        self.module = KaldiFbank(num_bins).eval()
        self.spec, self.identity = spec, f"spectral|fbank{num_bins}|mean_std"
        self.frame_rate = 100.0
        self.layer_names = self.default_layers = ["fbank"]
        self.dims = {"fbank": num_bins}

    def _run(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[str]) -> Extracted:
        from usad.frontend import FRAME_LENGTH
        from usad.teachers.batching import lengths_to_mask

        if wav.shape[1] < FRAME_LENGTH:   # shorter than one 25 ms frame: pad so the clip gets no valid frame
            wav = torch.nn.functional.pad(wav, (0, FRAME_LENGTH - wav.shape[1]))
        feats, n = self.module(wav, lengths)
        return Extracted({"fbank": feats}, lengths_to_mask(n, feats.shape[1]), self.frame_rate)


class TeacherEncoder(FrozenEncoder):
    """Every layer a teacher declares (``info.dims``), named by its layer number."""

    kind = "teacher"

    def __init__(self, teacher: torch.nn.Module, spec: str, device: torch.device, precision: str) -> None:
        self.module = teacher.freeze() if hasattr(teacher, "freeze") else teacher.eval()
        info = teacher.info
        self.spec, self.domain, self.feature, self.precision = spec, info.domain, info.feature, precision
        self.device = device
        self.frame_rate = float(info.frame_rate)
        layers = sorted(info.dims)
        self.layer_names = [str(l) for l in layers]
        self.default_layers = [str(l) for l in layers if l >= 1] or self.layer_names
        self.dims = {str(l): int(info.dims[l]) for l in layers}
        self.identity = f"{spec}|layers={layers}|dims={[info.dims[l] for l in layers]}"

    def _run(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[str]) -> Extracted:
        out = self.module(wav, lengths, layers=[int(l) for l in layers])
        return Extracted({l: out.features[int(l)] for l in layers}, out.mask, float(out.frame_rate))
