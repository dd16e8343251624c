"""The run's teachers: each loaded (live or cached), with its domain and its student->teacher layer pairs."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from usad.distill.config import TeacherConfig
from usad.distill.mapping import LayerPair, parse_mapping, sparse_mapping
from usad.teachers import Teacher, TeacherInfo, load_teacher, teacher_info
from usad.errors import ConfigError


@dataclass
class TeacherSlot:
    """One teacher of the run. ``pairs``: which student block predicts which teacher layer."""

    name: str
    teacher: Teacher
    domain: str
    pairs: list[LayerPair]

    @property
    def layers(self) -> list[int]:
        return sorted({p.teacher for p in self.pairs})

    @property
    def dims(self) -> dict[int, int]:
        return dict(self.teacher.info.dims)


def pairs_for(cfg: TeacherConfig, info: TeacherInfo, student_layers: int, stage: int) -> list[LayerPair]:
    """Explicit ``mapping`` if given; stage 2 defaults to "last" (final student block -> final teacher layer);
    stage 1 to the sparse K-pair rule over the teacher's depth."""
    depth = max(info.dims)
    if cfg.mapping is not None:
        return parse_mapping(cfg.mapping, student_layers, depth)
    if stage == 2:
        return [LayerPair(student_layers, depth)]
    return sparse_mapping(student_layers, depth, cfg.k)


def load_cached(cfg: TeacherConfig, student_layers: int, stage: int,
                device: str | torch.device) -> tuple[Teacher, list[LayerPair]]:
    """A CachedTeacher (precomputed targets written by `usad cache`) holding every layer the mapping needs."""
    from usad.teachers.cache import CachedTeacher

    info = teacher_info(cfg.name, **cfg.options)
    if info is None:
        raise ConfigError(f"teacher {cfg.name!r}: its layout is only known after loading it, so cached targets "
                          f"cannot be matched; drop teachers[].cache for this teacher or register it with info=")
    pairs = pairs_for(cfg, info, student_layers, stage)
    need = sorted({p.teacher for p in pairs})
    teacher = CachedTeacher(cfg.cache, info, need)
    return teacher.to(device).freeze(), pairs


def cache_dir(cfg: TeacherConfig, cache_root: str | None) -> str | None:
    """A teacher's feature cache: its own ``cache``, else ``<cache_root>/<name>`` (name made path-safe)."""
    if cfg.cache:
        return cfg.cache
    if cache_root:
        return str(Path(cache_root) / "".join(c if c.isalnum() or c in "-_." else "_" for c in cfg.name))
    return None


def build_teachers(configs: list[TeacherConfig], student_layers: int, stage: int,
                   device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
                   cache_root: str | None = None) -> list[TeacherSlot]:
    slots = []
    for cfg in configs:
        if cache_dir(cfg, cache_root):
            cfg = replace(cfg, cache=cache_dir(cfg, cache_root))
            teacher, pairs = load_cached(cfg, student_layers, stage, device)
        else:
            teacher = load_teacher(cfg.name, device=device, dtype=dtype, **cfg.options)
            pairs = pairs_for(cfg, teacher.info, student_layers, stage)
        domain = cfg.domain or teacher.info.domain
        slots.append(TeacherSlot(cfg.name, teacher, domain, pairs))
    return slots
