"""The distillation recipe's configuration: dataclasses, YAML loading and dotted ``key=value`` overrides.

``load_config("offline-small.yaml", ["optim.lr=1e-3", "teachers.0.k=2"])`` reads a file (a path, or the name of
a packaged recipe under ``usad/configs``), applies the overrides (values parsed as YAML) and validates every key.
OmegaConf holds the tree while it is put together (so ``${...}`` interpolations resolve); the dataclasses below,
not OmegaConf, decide which keys and types are valid.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, get_args, get_origin, get_type_hints

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from usad.errors import ConfigError  # noqa: F401  (re-exported: usad.distill.config.ConfigError)


@dataclass
class StudentConfig:
    preset: str = "small"                      # usad.Encoder.from_preset name
    overrides: dict = field(default_factory=dict)  # EncoderConfig fields, e.g. {num_layers: 2, dim: 64}
    init_from: str | None = None               # stage 2 / up-scaled start: a student dir or a run dir
    warm_start: str | None = None              # copy a teacher's blocks where shapes allow (e.g. whisper-base)


@dataclass
class TeacherConfig:
    name: str = ""                             # registry name: whisper-base, crepe-tiny, hf:<dir>, test:<...>
    domain: str | None = None                  # override the teacher's declared domain (speech|sound|music|any)
    k: int = 4                                 # sparse mapping pairs
    mapping: Any = None                        # explicit "3:6,6:12" / [[3, 6]] / "last"; overrides k
    cache: str | None = None                   # precomputed targets (usad cache) instead of live; default
                                               # <cache_root>/<name> when the recipe sets cache_root
    options: dict = field(default_factory=dict)  # extra keyword arguments for load_teacher
    weight: float = 1.0                        # scales this teacher's loss term (after the domain weights)


@dataclass
class HeadsConfig:
    hidden: int = 1024                         # MLP hidden width; 0 = linear heads
    init: str = "random"                       # random | ridge (output layers fitted to the initial student's
                                               # features on init_batches batches; usad.distill.head_init)
    init_batches: int = 16


@dataclass
class LossConfig:
    omega: float = 10.0                        # in-domain weight; 1 = uniform
    any_policy: str = "neutral"                # "any"-domain teachers: neutral (constant) | expert (everywhere)
    target_norm: str = "none"                  # none (the paper) | standardize (per target dim, from the cache)
    stats_batches: int = 20                    # live teachers: loader batches read for the target statistics


@dataclass
class DataConfig:
    train: list = field(default_factory=list)  # JSONL manifests (docs/interfaces.md)
    shar: list = field(default_factory=list)   # lhotse Shar directories (streaming), instead of / with manifests
    crop_seconds: float = 10.0                 # random crop length; shorter clips are kept whole
    min_seconds: float = 0.5                   # clips shorter than this are dropped
    crop_grid: float = 0.04                    # crop starts on multiples of this (s): frame-exact cached targets
    upsample: dict = field(default_factory=lambda: {"sound": 2.0, "music": 2.0})
    max_duration: float = 800.0                # seconds of audio per batch (per rank, per micro-step)
    num_buckets: int = 10
    num_workers: int = 2
    shuffle_buffer: int = 20000


@dataclass
class OptimConfig:
    lr: float = 8e-4
    betas: tuple = (0.9, 0.98)
    weight_decay: float = 0.01
    warmup_steps: int = 8000
    grad_accum: int = 1
    clip_norm: float = 10.0
    fused: bool | None = None                  # fused AdamW (default: on when CUDA)
    decay_over: str = "auto"                   # steps | time | auto (time when train.max_minutes is set)
    student_lr_scale: float = 1.0              # LR = lr x this for the student's pretrained weights (set by a
                                               # warm start or init_from); heads and random weights keep lr
    freeze: list = field(default_factory=list)  # fnmatch patterns over the student's parameter names
                                               # (e.g. "spectral.subsampler.*"): those keep their initial values


@dataclass
class TrainConfig:
    out_dir: str = "runs/distill"
    max_steps: int = 400000                    # optimiser updates; the LR decays to 0 at max_steps
    max_minutes: float | None = None           # wall-clock budget; stops cleanly, checkpoint written
    log_every: int = 10
    ckpt_every: int = 1000
    seed: int = 0
    device: str = "auto"                       # auto | cpu | cuda
    precision: str = "auto"                    # auto (bf16 on GPU, fp32 on CPU) | bf16 | fp32
    compile: bool = False                      # torch.compile the student
    fsdp: bool = False                         # FSDP2 (fully_shard) instead of DDP
    peak_tflops: float | None = None           # for MFU; None = a table for GPUs, a measured matmul on CPU
    tensorboard: bool = True
    resume: str = "auto"                       # auto (newest checkpoint in out_dir, if any) | never | <file>
    keep_checkpoints: int = 2
    teacher_dtype: str = "auto"                # auto (bf16 on GPU, fp32 on CPU) | bf16 | fp32


@dataclass
class DistillConfig:
    stage: int = 1
    cache_root: str | None = None              # feature caches of every teacher without its own ``cache``
    student: StudentConfig = field(default_factory=StudentConfig)
    teachers: list[TeacherConfig] = field(default_factory=list)
    heads: HeadsConfig = field(default_factory=HeadsConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _build(cls, data: Any, where: str):
    if not dataclasses.is_dataclass(cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"config {where or 'root'}: expected a mapping, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"config {where or 'root'}: unknown key(s) {unknown}; valid keys: {sorted(names)}")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        sub = f"{where}.{key}" if where else key
        if get_origin(hint) is list and get_args(hint) and dataclasses.is_dataclass(get_args(hint)[0]):
            if not isinstance(value, list):
                raise ConfigError(f"config {sub}: expected a list")
            value = [_build(get_args(hint)[0], v, f"{sub}.{i}") for i, v in enumerate(value)]
        elif dataclasses.is_dataclass(hint):
            value = _build(hint, value, sub)
        elif hint is tuple and isinstance(value, list):
            value = tuple(value)
        else:
            value = _coerce(hint, value, sub)
        kwargs[key] = value
    return cls(**kwargs)


def _coerce(hint, value: Any, where: str) -> Any:
    """Convert a YAML value to the field's declared type where that is unambiguous (YAML reads ``1e-3`` as a
    string and ``15`` as an int), and refuse values of another type, naming the key."""
    if hint is Any:
        return value
    kinds = set(get_args(hint)) if get_args(hint) else {hint}
    if value is None:
        if type(None) in kinds:
            return None
        raise ConfigError(f"config {where}: must not be null")
    if float in kinds and not isinstance(value, bool) and isinstance(value, (int, str)):
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"config {where}: expected a number, got {value!r}") from None
    if kinds == {int} and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"config {where}: expected an integer, got {value!r}") from None
    allowed = tuple(k for k in kinds if isinstance(k, type) and k is not type(None))
    numeric = int in allowed or float in allowed
    if allowed and (not isinstance(value, allowed) or (numeric and bool not in allowed and isinstance(value, bool))):
        names = " or ".join({int: "an integer", float: "a number", bool: "true/false", str: "a string",
                             list: "a list (e.g. [a, b])", dict: "a mapping", tuple: "a list"}.get(k, k.__name__)
                            for k in allowed)
        raise ConfigError(f"config {where}: expected {names}, got {value!r}")
    return value


def resolve_recipe(name: str) -> str:
    """A path if it exists, else a packaged recipe ``usad/configs/<name>[.yaml]``."""
    if os.path.isdir(name):
        inside = os.path.join(name, "config.yaml")
        hint = f" (this looks like a run folder: --config {inside})" if os.path.isfile(inside) else ""
        raise ConfigError(f"recipe {name!r} is a folder; pass a YAML file{hint}")
    if os.path.exists(name):
        return name
    base = name if name.endswith((".yaml", ".yml")) else name + ".yaml"
    packaged = resources.files("usad") / "configs" / base
    if packaged.is_file():
        return str(packaged)
    raise ConfigError(f"recipe {name!r} not found: not a file and not one of the packaged recipes "
                      f"{packaged_recipes()}")


def read_recipe(path: str) -> dict:
    """The mapping in a YAML recipe file; ConfigError naming the file (and line) when it cannot be used."""
    try:
        tree = OmegaConf.load(path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"recipe {path}{where}: not valid YAML ({problem}); fix the file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"recipe {path}: cannot read it ({exc})") from None
    if not isinstance(tree, DictConfig):
        raise ConfigError(f"recipe {path}: expected a mapping of keys (stage, student, teachers, ...) at the top, "
                          "got list")
    return OmegaConf.to_container(tree)


def packaged_recipes() -> list[str]:
    root = resources.files("usad") / "configs"
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".yaml")) if root.is_dir() else []


def parse_override(item: str) -> tuple[str, Any]:
    """``key=value`` -> (dotted key, value read as YAML the way a recipe file is read); every verb that takes
    recipe overrides parses them here."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {item!r} must look like key=value (e.g. optim.lr=1e-3)")
    try:
        value = OmegaConf.to_container(OmegaConf.from_dotlist([f"value={raw}"]))["value"]
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {item!r}: the value is not valid YAML ({exc}); quote it or fix the "
                          f"brackets, e.g. data.train=[a.jsonl,b.jsonl]") from None
    return key.strip(), value


def apply_overrides(tree: DictConfig, overrides: list[str]) -> None:
    """Set each ``key=value`` in turn. A list index one past the end appends; a mapping or list value replaces
    what was there (OmegaConf's own dotlist merge would merge ``student.overrides={}`` into the old mapping)."""
    for item in overrides:
        key, value = parse_override(item)
        parent, _, last = key.rpartition(".")
        try:
            node = OmegaConf.select(tree, parent) if parent else tree
            if OmegaConf.is_list(node) and last == str(len(node)):
                node.append(value)
            else:
                OmegaConf.update(tree, key, value, merge=False)
        except (OmegaConfBaseException, TypeError, ValueError) as exc:
            raise ConfigError(f"override {item!r}: {str(exc).splitlines()[0]}") from None


def load_config(source: str | dict | None = None, overrides: list[str] | None = None) -> DistillConfig:
    """Build a DistillConfig from a YAML file / packaged recipe name / dict, then apply ``key=value`` overrides."""
    recipe = {} if source is None else source if isinstance(source, dict) else read_recipe(resolve_recipe(source))
    # Untyped nodes (the defaults' tuples as lists): _build, not OmegaConf, checks the types.
    tree = OmegaConf.create(json.loads(json.dumps(DistillConfig().to_dict())))
    for key, value in recipe.items():   # a section merges field by field; a field's value replaces its default
        try:                            # whole, so `upsample: {}` means none (OmegaConf.merge would keep the default's)
            if isinstance(value, dict) and isinstance(tree.get(key), DictConfig):
                for name, v in value.items():
                    tree[key][name] = v
            else:
                tree[key] = value
        except OmegaConfBaseException as exc:
            raise ConfigError(f"config {key}: {str(exc).splitlines()[0]}") from None
    apply_overrides(tree, overrides or [])
    try:
        merged = OmegaConf.to_container(tree, resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"config: {str(exc).splitlines()[0]}") from None
    cfg = _build(DistillConfig, merged, "")
    validate(cfg)
    return cfg


def validate(cfg: DistillConfig) -> None:
    """Range checks that types alone do not catch; ConfigError naming the key and the allowed values."""
    if cfg.stage not in (1, 2):
        raise ConfigError(f"config stage must be 1 or 2, got {cfg.stage!r}")
    if not cfg.teachers:
        raise ConfigError("config teachers: at least one teacher is needed (e.g. teachers: [{name: whisper-base}])")
    for i, t in enumerate(cfg.teachers):
        if not t.name:
            raise ConfigError(f"config teachers.{i}.name is empty")
        if t.k < 1:
            raise ConfigError(f"config teachers.{i}.k must be >= 1, got {t.k}")
        if not t.weight > 0:
            raise ConfigError(f"config teachers.{i}.weight must be > 0, got {t.weight}")
    names = [t.name for t in cfg.teachers]
    if len(set(names)) != len(names):
        raise ConfigError(f"config teachers: duplicate names {names}")
    o, t, d = cfg.optim, cfg.train, cfg.data
    checks = [
        ("optim.lr", o.lr, o.lr > 0, "> 0"),
        ("optim.student_lr_scale", o.student_lr_scale, o.student_lr_scale >= 0, ">= 0 (0 = student frozen)"),
        ("optim.weight_decay", o.weight_decay, o.weight_decay >= 0, ">= 0"),
        ("optim.warmup_steps", o.warmup_steps, o.warmup_steps >= 0, ">= 0"),
        ("optim.grad_accum", o.grad_accum, o.grad_accum >= 1, ">= 1"),
        ("optim.clip_norm", o.clip_norm, o.clip_norm >= 0, ">= 0 (0 = no clipping)"),
        ("optim.betas", o.betas, len(o.betas) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1
                                                          for b in o.betas), "two numbers in [0, 1)"),
        ("heads.hidden", cfg.heads.hidden, cfg.heads.hidden >= 0, ">= 0 (0 = linear heads)"),
        ("loss.omega", cfg.loss.omega, cfg.loss.omega > 0, "> 0"),
        ("train.max_steps", t.max_steps, t.max_steps >= 1, ">= 1"),
        ("train.max_minutes", t.max_minutes, t.max_minutes is None or t.max_minutes > 0, "> 0 or null"),
        ("train.log_every", t.log_every, t.log_every >= 1, ">= 1"),
        ("train.ckpt_every", t.ckpt_every, t.ckpt_every >= 0, ">= 0 (0 = only at the end)"),
        ("train.keep_checkpoints", t.keep_checkpoints, t.keep_checkpoints >= 0, ">= 0"),
        ("data.min_seconds", d.min_seconds, d.min_seconds >= 0, ">= 0"),
        ("data.crop_grid", d.crop_grid, d.crop_grid > 0, "> 0"),
        ("data.num_buckets", d.num_buckets, d.num_buckets >= 1, ">= 1"),
        ("data.num_workers", d.num_workers, d.num_workers >= 0, ">= 0"),
    ]
    for key, value, ok, rule in checks:
        if not ok:
            raise ConfigError(f"config {key} must be {rule}, got {value!r}")
    if not isinstance(o.freeze, (list, tuple)) or not all(isinstance(x, str) and x for x in o.freeze):
        raise ConfigError(f"config optim.freeze must be a list of parameter-name patterns (e.g. "
                          f"['spectral.subsampler.*']), got {o.freeze!r}")
    if o.decay_over not in ("auto", "steps", "time"):
        raise ConfigError(f"config optim.decay_over must be auto|steps|time, got {o.decay_over!r}")
    if t.precision not in ("auto", "bf16", "fp32"):
        raise ConfigError(f"config train.precision must be auto|bf16|fp32, got {t.precision!r}")
    if cfg.loss.target_norm not in ("none", "standardize"):
        raise ConfigError(f"config loss.target_norm must be none|standardize, got {cfg.loss.target_norm!r}")
    if cfg.heads.init not in ("random", "ridge"):
        raise ConfigError(f"config heads.init must be random|ridge, got {cfg.heads.init!r}")
    if cfg.heads.init_batches < 1:
        raise ConfigError(f"config heads.init_batches must be >= 1, got {cfg.heads.init_batches!r}")
    if cfg.loss.any_policy not in ("neutral", "expert"):
        raise ConfigError(f"config loss.any_policy must be neutral|expert, got {cfg.loss.any_policy!r}")
    if d.crop_seconds <= 0 or d.max_duration < d.crop_seconds:
        raise ConfigError(f"config data: need 0 < crop_seconds ({d.crop_seconds}) <= max_duration "
                          f"({d.max_duration})")
    if t.resume not in ("auto", "never") and not os.path.isfile(t.resume):
        raise ConfigError(f"config train.resume={t.resume!r}: no such checkpoint file; use auto (newest in "
                          f"train.out_dir), never, or the path of a checkpoints/step_<N>.pt file")
