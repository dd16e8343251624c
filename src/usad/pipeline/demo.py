"""The main job, offline: corpus -> teacher targets -> stage 1 -> stage 2 -> probing -> report.

Every step is idempotent: a re-run reuses the corpus, the teacher caches, finished training runs (their final
student) and cached probe features, so an interrupted demo resumes where it stopped.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from usad.pipeline.summary import goal_summary


@dataclass
class DemoTeacher:
    """A teacher of the demo: registry name, the domain it is the expert of, and its load options."""

    name: str
    domain: str
    k: int = 4
    options: dict = field(default_factory=dict)

    @property
    def spec(self) -> str:
        """The evaluation spec (``teacher:NAME[,key=value...]``), with the same options as in training."""
        return "teacher:" + ",".join([self.name] + [f"{k}={v}" for k, v in sorted(self.options.items())])


def _whisper() -> DemoTeacher:
    # "clip" window: cost follows clip length instead of 30 s per clip (see docs/teachers.md)
    return DemoTeacher("whisper-base", "speech", options={"window": "clip"})


def _default_teachers() -> list[DemoTeacher]:
    return [_whisper(), DemoTeacher("birdnet", "sound"), DemoTeacher("basic-pitch", "music")]


@dataclass
class DemoConfig:
    out: str = "runs/demo"                      # everything the run writes (training runs, caches, report)
    corpus: str = "data/corpus"                 # corpus + probe suite (usad corpus build)
    size: str = "default"                       # corpus size: small (CI) | default (CPU demo) | full
    device: str = "cpu"                         # cpu | cuda
    student: str = "small"                      # student preset, narrowed for 2 CPU cores (see README):
    student_overrides: dict = field(default_factory=lambda: {"dim": 256, "num_layers": 6, "num_heads": 4})
    teachers: list[DemoTeacher] = field(default_factory=_default_teachers)
    stage2_teacher: DemoTeacher = field(default_factory=_whisper)   # final layer = stage-2 target
    stage1_minutes: float = 11.0                # training budget (wall clock) of each stage
    stage2_minutes: float = 4.0
    max_steps: int = 100000                     # the LR schedule's horizon is set from the budget (see below)
    crop_seconds: float = 4.0
    batch_seconds: float = 64.0                 # audio seconds per batch
    lr: float = 8e-4
    warmup_steps: int = 30
    seed: int = 0
    # Probe protocol sized for 2 CPU cores (5 encoders x 9 tasks in ~15 min): one learning rate, one seed.
    # `usad probe` defaults to the full grid (1e-4, 1e-3, 1e-2) x seeds (0, 1); pass them here on a GPU.
    probe_seeds: tuple = (0,)
    probe_lrs: tuple = (1e-3,)
    probe_batch: int = 1024                     # probe minibatch (frames for event tasks)
    probe_tasks: list[str] | None = None        # None = every task of the suite
    skip_missing_teachers: bool = True          # e.g. BirdNET not installed: train without it, say so


def _log(msg: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _usable_teachers(cfg: DemoConfig, log: Callable[[str], None]) -> list[DemoTeacher]:
    from usad.teachers.registry import check_teacher

    keep = []
    for t in cfg.teachers:
        ok, why = check_teacher(t.name)
        if ok:
            keep.append(t)
        elif cfg.skip_missing_teachers:
            log(f"teacher {t.name} ({t.domain}) cannot load here and is left out: {why}")
        else:
            raise RuntimeError(f"teacher {t.name} cannot load: {why}")
    if not keep:
        raise RuntimeError("no demo teacher can load on this machine; run scripts/setup.sh (see `usad teachers`)")
    return keep


def _student_layers(cfg: DemoConfig) -> int:
    from usad.model.config import preset_config

    return preset_config(cfg.student, **cfg.student_overrides).num_layers


def _teacher_config(t: DemoTeacher, stage: int, cache_root: Path | None = None) -> dict:
    cfg = {"name": t.name, "domain": t.domain, "options": dict(t.options)}
    cfg.update({"k": t.k} if stage == 1 else {"mapping": "last"})
    if cache_root is not None:
        cfg["cache"] = str(cache_root / t.name)
    return cfg


def _teacher_layers(t: DemoTeacher, student_layers: int, stage: int) -> list[int]:
    from usad.distill.config import TeacherConfig
    from usad.distill.teacher_set import pairs_for
    from usad.teachers import teacher_info

    pairs = pairs_for(TeacherConfig(**_teacher_config(t, stage)), teacher_info(t.name, **t.options),
                      student_layers, stage)
    return sorted({p.teacher for p in pairs})


def _cache_targets(cfg: DemoConfig, manifest: Path, teachers: list[DemoTeacher], cache_root: Path,
                   log: Callable[[str], None]) -> dict[str, float]:
    """Precompute every teacher layer training needs (stage 1 and stage 2) once; returns seconds per teacher."""
    from usad.teachers import load_teacher
    from usad.teachers.cache import build_cache

    n_layers = _student_layers(cfg)
    need: dict[str, tuple[DemoTeacher, set[int]]] = {}
    for t, stage in [(t, 1) for t in teachers] + [(cfg.stage2_teacher, 2)]:
        if t.name in need and need[t.name][0].options != t.options:
            raise ValueError(f"teacher {t.name} is used with two different option sets; use one")
        need.setdefault(t.name, (t, set()))[1].update(_teacher_layers(t, n_layers, stage))
    times = {}
    for name, (t, layers) in need.items():
        t0 = time.perf_counter()
        log(f"teacher targets: {name} layers {sorted(layers)} over {manifest.name}")
        teacher = load_teacher(name, device=cfg.device, **t.options)
        build_cache(teacher, manifest, cache_root / name, layers=sorted(layers))
        del teacher
        times[name] = round(time.perf_counter() - t0, 1)
    return times


def _distill_config(cfg: DemoConfig, stage: int, manifest: Path, teachers: list[dict], out_dir: Path,
                    minutes: float, init_from: str | None) -> dict:
    return {
        "stage": stage,
        "student": {"preset": cfg.student, "overrides": dict(cfg.student_overrides), "init_from": init_from},
        "teachers": teachers,
        "heads": {"hidden": 512},
        "loss": {"omega": 10.0},
        "data": {"train": [str(manifest)], "crop_seconds": cfg.crop_seconds, "max_duration": cfg.batch_seconds,
                 "num_buckets": 4, "num_workers": 1, "upsample": {"sound": 2.0, "music": 2.0}},
        "optim": {"lr": cfg.lr, "warmup_steps": cfg.warmup_steps},
        "train": {"out_dir": str(out_dir), "max_steps": cfg.max_steps, "max_minutes": minutes,
                  "log_every": 10, "ckpt_every": 50, "seed": cfg.seed, "device": cfg.device},
    }


def _train_stage(cfg: DemoConfig, stage: int, manifest: Path, teachers: list[dict], out_dir: Path,
                 minutes: float, init_from: str | None, log: Callable[[str], None]) -> Path:
    from usad.distill.config import load_config
    from usad.distill.trainer import train

    student_dir = out_dir / "student"
    if (student_dir / "config.json").is_file() and (out_dir / "done.json").is_file():
        log(f"stage {stage}: finished earlier, reusing {student_dir}")
        return student_dir
    dcfg = load_config(_distill_config(cfg, stage, manifest, teachers, out_dir, minutes, init_from))
    log(f"stage {stage}: training for {minutes:g} min -> {out_dir}")
    t0 = time.perf_counter()
    result = train(dcfg)
    (out_dir / "done.json").write_text(json.dumps({"step": result.step, "last_loss": result.last_loss,
                                                   "stopped_by": result.stopped_by,
                                                   "seconds": round(time.perf_counter() - t0, 1)}))
    return student_dir


def run_demo(cfg: DemoConfig, log: Callable[[str], None] = _log) -> dict:
    """Run the whole job; returns the summary written to ``<out>/summary.json``."""
    from usad.corpus.build import build
    from usad.eval import ProbeProtocol, run_probe_suite

    out, corpus = Path(cfg.out), Path(cfg.corpus)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    log(f"corpus ({cfg.size}) -> {corpus}")
    build(corpus, size=cfg.size, seed=cfg.seed)
    manifest = corpus / "train" / "all.jsonl"
    suite = corpus / "probe"
    timings["corpus_s"] = round(time.perf_counter() - t0, 1)

    teachers = _usable_teachers(cfg, log)
    cache_root = out / "teacher-cache"
    t0 = time.perf_counter()
    timings["teacher_cache_s"] = _cache_targets(cfg, manifest, teachers, cache_root, log)
    timings["teacher_cache_total_s"] = round(time.perf_counter() - t0, 1)

    stage1 = [_teacher_config(t, 1, cache_root) for t in teachers]
    t0 = time.perf_counter()
    s1 = _train_stage(cfg, 1, manifest, stage1, out / "stage1", cfg.stage1_minutes, None, log)
    timings["stage1_s"] = round(time.perf_counter() - t0, 1)
    stage2 = [_teacher_config(cfg.stage2_teacher, 2, cache_root)]
    t0 = time.perf_counter()
    s2 = _train_stage(cfg, 2, manifest, stage2, out / "stage2", cfg.stage2_minutes, str(s1), log)
    timings["stage2_s"] = round(time.perf_counter() - t0, 1)

    encoders = {"student (stage 1)": f"student:{s1}", "student": f"student:{s2}"}
    for t in teachers + [cfg.stage2_teacher]:
        encoders.setdefault(t.name, t.spec)
    t0 = time.perf_counter()
    log(f"probing {len(encoders)} encoders on {suite}")
    protocol = ProbeProtocol(lrs=tuple(cfg.probe_lrs), seeds=tuple(cfg.probe_seeds), batch_size=cfg.probe_batch)
    results = run_probe_suite(suite, encoders, out / "report", protocol=protocol,
                              cache_dir=out / "probe-features", device=cfg.device, tasks=cfg.probe_tasks, log=log)
    timings["probe_s"] = round(time.perf_counter() - t0, 1)

    summary = goal_summary(results, student="student")
    summary["training"] = {f"stage{i}": json.loads((out / f"stage{i}" / "done.json").read_text()) for i in (1, 2)}
    summary.update({"config": asdict(cfg), "timings": timings, "student_dir": str(s2),
                    "report": str(out / "report" / "report.md")})
    tmp = out / ".summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1, default=str))
    os.replace(tmp, out / "summary.json")
    return summary
