"""Which teacher layers a set of recipes needs, and building their feature caches once.

``plan_caches([stage1, stage2])`` lists, per teacher and cache folder, the union of the layers the recipes'
layer mappings read (stage 2's final layer and stage 1's sparse layers of one teacher land in one cache), so
``build_caches`` runs each teacher once over the training manifest. ``cache_recipes`` does both for ``usad cache
--config RECIPE`` (one recipe) and the demo (its two stages).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from usad.distill.config import DistillConfig, TeacherConfig
from usad.distill.student import student_config
from usad.distill.teacher_set import cache_dir, pairs_for
from usad.errors import ConfigError


@dataclass
class CacheJob:
    teacher: TeacherConfig
    folder: str                      # the teacher's cache root (the keyed cache folder is made inside it)
    layers: set[int] = field(default_factory=set)
    built: Path | None = None        # the keyed cache folder, once built
    seconds: float = 0.0             # time spent building it


def _student_layers(cfg: DistillConfig) -> int:
    try:
        return student_config(cfg.student).num_layers
    except FileNotFoundError:   # stage 2 before stage 1 has run: its student is stage 1's, not yet written
        from usad.model.config import preset_config

        return preset_config(cfg.student.preset, **cfg.student.overrides).num_layers


def plan_caches(configs: list[DistillConfig]) -> list[CacheJob]:
    """One job per (teacher name, cache folder); raises when one teacher is used with two option sets."""
    from usad.teachers import teacher_info

    jobs: dict[tuple[str, str], CacheJob] = {}
    for cfg in configs:
        for t in cfg.teachers:
            folder = cache_dir(t, cfg.cache_root)
            if folder is None:
                continue
            info = teacher_info(t.name, **t.options)
            if info is None:
                raise ConfigError(f"teacher {t.name!r}: its layout is only known after loading it; give it no "
                                  "cache (live targets) or register it with info=")
            job = jobs.setdefault((t.name, folder), CacheJob(t, folder))
            if job.teacher.options != t.options:
                raise ConfigError(f"teacher {t.name!r} is cached in {folder} with two option sets "
                                  f"({job.teacher.options} and {t.options}); give each its own cache")
            job.layers.update(p.teacher for p in pairs_for(t, info, _student_layers(cfg), cfg.stage))
    return list(jobs.values())


def build_caches(jobs: list[CacheJob], manifest: str, device: str = "cpu", log: Callable[[str], None] = print,
                 rank: int = 0, world_size: int = 1, progress: bool = True) -> list[CacheJob]:
    """Build (or complete: finished shards are kept) every job's cache over one manifest, filling in each job's
    ``built`` folder and ``seconds``. A job whose layers a finished cache over the same manifest already holds
    (perhaps among more layers: stage 1's cache holds the final layer stage 2 reads) reuses it without loading its
    teacher. With ``world_size`` > 1, only rank ``rank``'s shards of each (see ``build_cache``)."""
    from usad.teachers import load_teacher, teacher_info
    from usad.teachers.cache import build_cache, complete_cache_for

    for job in jobs:
        t0 = time.perf_counter()
        info = teacher_info(job.teacher.name, **job.teacher.options)
        done = complete_cache_for(job.folder, info, sorted(job.layers), manifest) if info is not None else None
        if done is not None:
            log(f"teacher targets: {job.teacher.name} layers {sorted(job.layers)} over {manifest}: already in "
                f"{done}")
            job.built = done
            continue
        log(f"teacher targets: {job.teacher.name} layers {sorted(job.layers)} over {manifest}")
        teacher = load_teacher(job.teacher.name, device=device, **job.teacher.options)
        job.built = build_cache(teacher, manifest, job.folder, layers=sorted(job.layers), rank=rank,
                                world_size=world_size, progress=progress)
        del teacher
        job.seconds = round(time.perf_counter() - t0, 1)
    return jobs


def cache_recipes(configs: list[DistillConfig], device: str = "cpu", log: Callable[[str], None] = print,
                  rank: int = 0, world_size: int = 1, progress: bool = True) -> list[CacheJob]:
    """Every teacher target the recipes ``configs`` train on, cached once over their one training manifest into
    the folders training looks in (``usad cache --config RECIPE``; the demo's two stages together)."""
    manifests = sorted({m for cfg in configs for m in cfg.data.train})
    if len(manifests) != 1:
        raise ConfigError(f"caching from recipes needs one data.train manifest, got {manifests or 'none'}; cache "
                          f"each manifest with `usad cache --teacher ... --manifest ... --out ...`")
    jobs = plan_caches(configs)
    if not jobs:
        raise ConfigError("no teacher of the recipe has a cache folder; set cache_root or teachers[].cache")
    return build_caches(jobs, manifests[0], device, log, rank, world_size, progress)
