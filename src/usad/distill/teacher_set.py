"""The run's teachers: each loaded (live or cached), with its domain and its student->teacher layer pairs."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from usad.distill.config import TeacherConfig
from usad.distill.mapping import LayerPair, parse_mapping, sparse_mapping
from usad.teachers import Teacher, load_teacher


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


def _top_layer(teacher: Teacher) -> int:
    return max(l for l in teacher.info.dims)


def pairs_for(cfg: TeacherConfig, teacher: Teacher, student_layers: int, stage: int) -> list[LayerPair]:
    """Explicit ``mapping`` if given; stage 2 defaults to "last" (final student block -> final teacher layer);
    stage 1 to the sparse K-pair rule over the teacher's depth."""
    depth = _top_layer(teacher)
    if cfg.mapping is not None:
        return parse_mapping(cfg.mapping, student_layers, depth)
    if stage == 2:
        return [LayerPair(student_layers, depth)]
    return sparse_mapping(student_layers, depth, cfg.k)


def load_cached(directory: str, device: str | torch.device) -> Teacher:
    """A CachedTeacher (precomputed targets written by `usad cache`) on ``device``."""
    from usad.teachers.cache import CachedTeacher

    return CachedTeacher(directory).to(device).freeze()


def build_teachers(configs: list[TeacherConfig], student_layers: int, stage: int,
                   device: str | torch.device = "cpu", dtype: torch.dtype | None = None) -> list[TeacherSlot]:
    slots = []
    for cfg in configs:
        if cfg.cache:
            teacher = load_cached(cfg.cache, device)
        else:
            teacher = load_teacher(cfg.name, device=device, dtype=dtype, **cfg.options)
        domain = cfg.domain or teacher.info.domain
        slots.append(TeacherSlot(cfg.name, teacher, domain, pairs_for(cfg, teacher, student_layers, stage)))
    return slots
