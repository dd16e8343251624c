"""Student side of a run: building/initialising the encoder, the student+heads module, saving the results."""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
from pathlib import Path

import torch
from torch import nn

from usad.distill.config import StudentConfig
from usad.distill.heads import HeadSet
from usad.distill.mapping import LayerPair
from usad.checkpoint import read_config
from usad.errors import ConfigError, UsadError
from usad.io import atomic_write_text, save_safetensors
from usad.model import Encoder, EncoderConfig
from usad.model.config import preset_config


class StudentNotFound(UsadError, FileNotFoundError):
    """No student checkpoint at the given path (a usad error, and a FileNotFoundError as before)."""


def resolve_student_dir(path: str | os.PathLike) -> Path:
    """A student folder (config.json + model.safetensors), or a run folder holding ``student/`` (local only:
    recipe paths such as ``runs/stage1-base`` look like hub ids, and a missing stage 1 must not reach the Hub)."""
    p = Path(path)
    if (p / "config.json").is_file():
        return p
    if (p / "student" / "config.json").is_file():
        return p / "student"
    raise StudentNotFound(f"{path}: neither a student checkpoint (config.json + model.safetensors) nor a run "
                          f"folder with student/; pass the out_dir of a finished `usad distill` run")


def student_config(cfg: StudentConfig) -> EncoderConfig:
    """The student's EncoderConfig without building it."""
    if cfg.init_from:
        return EncoderConfig.from_dict(read_config(resolve_student_dir(cfg.init_from)))
    return preset_config(cfg.preset, **cfg.overrides)


def build_student(cfg: StudentConfig) -> Encoder:
    """``init_from`` (stage 2, up-scaled models) loads trained weights; otherwise a random preset, with a
    teacher's weights copied in when ``warm_start`` names one. The encoder carries ``pretrained_names``: the
    parameters whose values came from a checkpoint or a teacher (``optim.student_lr_scale`` applies to them)."""
    if cfg.init_from:
        enc = Encoder.from_pretrained(resolve_student_dir(cfg.init_from))
        enc.pretrained_names = frozenset(n for n, _ in enc.named_parameters())
        return enc.train()
    enc = Encoder.from_preset(cfg.preset, **cfg.overrides)
    enc.pretrained_names = frozenset()
    if cfg.warm_start:
        from usad.distill.warm_start import warm_start

        enc.pretrained_names = frozenset(warm_start(enc, cfg.warm_start))
    return enc.train()


class DistillModel(nn.Module):
    """Student + heads: the trainable part of a run (one module so DDP/FSDP wrap both)."""

    def __init__(self, student: Encoder, heads: HeadSet) -> None:
        super().__init__()
        self.student = student
        self.heads = heads
        self.depth = max(heads.student_layers())

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor):
        """wav: (B, S), lengths: (B,) -> (predictions[teacher][pair]: (B, T, D_t), mask: (B, T) bool)."""
        out = self.student(wav, lengths, target_layer=self.depth)
        return self.heads(out.hidden_states), out.mask


def freeze_student(student: Encoder, patterns: list[str]) -> list[str]:
    """Stop training the student's parameters whose names (as in ``student.named_parameters()``, e.g.
    ``spectral.subsampler.conv1.weight``) match any of the fnmatch ``patterns`` (``optim.freeze``): they keep the
    values they start with (random, copied or loaded). Call before wrapping the model for DDP/FSDP. Returns the
    frozen names; ConfigError for a pattern that matches nothing, so a misspelt name does not train silently."""
    params = dict(student.named_parameters())
    matched: set[str] = set()
    for pattern in patterns:
        hits = {n for n in params if fnmatch.fnmatchcase(n, pattern)}
        if not hits:
            prefixes = sorted({n.split(".")[0] for n in params})
            raise ConfigError(f"optim.freeze: {pattern!r} matches no student parameter; names look like "
                              f"{next(iter(params))!r} (top-level modules: {', '.join(prefixes)})")
        matched |= hits
    frozen = [n for n in params if n in matched]   # in the model's order
    for name in frozen:
        params[name].requires_grad_(False)
    return frozen


def param_groups(model: nn.Module, optim_cfg) -> list[dict]:
    """AdamW parameter groups: the student's pretrained parameters (``pretrained_names``: set by ``init_from`` or a
    warm start) at ``lr x optim.student_lr_scale``; the heads and every parameter that starts random at ``lr``.
    Names are matched under any wrapper (DDP ``module.``, ``torch.compile``). Frozen parameters
    (:func:`freeze_student`) are left out."""
    student = next(m.student for m in model.modules() if isinstance(m, DistillModel))
    pretrained = getattr(student, "pretrained_names", frozenset())
    slow, fast = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        local = ("." + name).split(".student.", 1)
        (slow if len(local) == 2 and local[1] in pretrained else fast).append(p)
    scale = optim_cfg.student_lr_scale
    groups = [{"params": fast, "lr": optim_cfg.lr}]
    if scale > 0:
        groups.append({"params": slow, "lr": optim_cfg.lr * scale})
    else:
        for p in slow:
            p.requires_grad_(False)
    return groups


def save_heads(directory: str | os.PathLike, heads: HeadSet, state: dict[str, torch.Tensor],
               student_dim: int, hidden: int) -> Path:
    """``heads/model.safetensors`` + ``heads/heads.json`` (plan and sizes), each written atomically."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    meta = {"student_dim": student_dim, "hidden": hidden,
            "plan": {t: [[p.student, p.teacher] for p in pairs] for t, pairs in heads.plan.items()},
            "dims": {k: list(m.sizes) for k, m in heads.heads.items()}}
    save_safetensors(target / "model.safetensors", {k: v.detach().cpu().contiguous() for k, v in state.items()})
    atomic_write_text(target / "heads.json", json.dumps(meta, indent=2) + "\n")
    return target


def export_run(out_dir: Path, full: dict[str, torch.Tensor], config: EncoderConfig, heads: HeadSet,
               hidden: int) -> tuple[Path, Path]:
    """A finished run's ``student/`` (Encoder format) and ``heads/`` from the full state dict of student + heads;
    the target statistics go beside the heads (they predict targets in the statistics' space)."""
    from usad.distill.target_stats import STATS_FILE

    clean = Encoder(config)
    clean.load_state_dict({k[len("student."):]: v for k, v in full.items() if k.startswith("student.")})
    student_dir = out_dir / "student"
    clean.save_pretrained(student_dir)
    h_state = {k[len("heads."):]: v for k, v in full.items() if k.startswith("heads.")}
    heads_dir = save_heads(out_dir / "heads", heads, h_state, config.dim, hidden)
    if (out_dir / STATS_FILE).is_file():
        shutil.copyfile(out_dir / STATS_FILE, heads_dir / STATS_FILE)
    return student_dir, heads_dir


def heads_plan_from_json(path: str | os.PathLike) -> dict[str, list[LayerPair]]:
    meta = json.loads((Path(path) / "heads.json").read_text())
    return {t: [LayerPair(s, d) for s, d in pairs] for t, pairs in meta["plan"].items()}
