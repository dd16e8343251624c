"""The main job, offline, as the README lists it: corpus -> teacher targets -> stage 1 -> stage 2 -> probing ->
report.

Every training value lives in the two packaged recipes (``cpu-stage1``, ``cpu-stage2``; ``usad distill --list``);
the demo passes them only its own settings as overrides: where the corpus, caches and runs live, the device, the
seed and the budgets. Every step is idempotent: a re-run reuses the corpus, the teacher caches, finished training
runs and cached probe features, so an interrupted demo resumes where it stopped.
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from usad.io import atomic_write_text
from usad.pipeline.summary import goal_summary


@dataclass
class DemoConfig:
    out: str = "runs/demo"                      # everything the run writes (training runs, caches, report)
    corpus: str = "data/corpus"                 # corpus + probe suite (usad corpus build)
    size: str = "default"                       # corpus size: small (CI) | default (CPU demo) | full
    device: str = "cpu"                         # cpu | cuda
    seed: int = 0                               # corpus build and training seed
    stage1: str = "cpu-stage1"                  # recipes (packaged names or YAML paths): every training value
    stage2: str = "cpu-stage2"
    stage1_minutes: float | None = None         # budgets, passed as train.max_minutes (None: the recipe's)
    stage2_minutes: float | None = None
    overrides: list[str] = field(default_factory=list)         # key=value for both recipes (e.g. student size)
    stage1_overrides: list[str] = field(default_factory=list)
    stage2_overrides: list[str] = field(default_factory=list)
    skip_missing_teachers: bool = True          # e.g. BirdNET not installed: train without it, say so
    # Probe protocol sized for 2 CPU cores: one learning rate, one seed (`usad probe` runs the full grid).
    probe_seeds: tuple = (0,)
    probe_lrs: tuple = (1e-3,)
    probe_batch: int = 1024                     # probe minibatch (frames for frame-level tasks)
    probe_tasks: list[str] | None = None        # None = every task of the suite
    recovery: bool = True                       # teacher recovery of the students and controls (False: skip it)


def _log(msg: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_demo(cfg: DemoConfig, log: Callable[[str], None] = _log) -> dict:
    """Run the whole job; returns the summary written to ``<out>/summary.json``."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict = {}
    with _timed(timings, "corpus_s"):
        suite = build_corpus(cfg, log)
    stage1, stage2 = stage_configs(cfg, log)
    with _timed(timings, "teacher_cache_total_s"):
        timings["teacher_cache_s"] = cache_targets([stage1, stage2], cfg.device, log)
    with _timed(timings, "stage1_s"):
        student1 = train_stage(stage1, log)
    with _timed(timings, "stage2_s"):
        student2 = train_stage(stage2, log)
    with _timed(timings, "probe_s"):
        results = probe(cfg, suite, student1, student2, stage1.teachers + stage2.teachers, log)
    return write_summary(cfg, results, stage1, stage2, student2, timings)


@contextlib.contextmanager
def _timed(timings: dict, key: str):
    t0 = time.perf_counter()
    yield
    timings[key] = round(time.perf_counter() - t0, 1)


# ---- 1. corpus ---------------------------------------------------------------------------------------------
def build_corpus(cfg: DemoConfig, log: Callable[[str], None] = _log) -> Path:
    """The training corpus and probe suite (``usad corpus build``); returns the suite folder."""
    from usad.corpus.build import build

    log(f"corpus ({cfg.size}) -> {cfg.corpus}")
    build(cfg.corpus, size=cfg.size, seed=cfg.seed)
    return Path(cfg.corpus) / "probe"


# ---- the recipes, with the demo's folders, device, seed and budgets ----------------------------------------
def stage_configs(cfg: DemoConfig, log: Callable[[str], None] = _log):
    """The two stages' DistillConfigs for this demo's folders, budgets and device (missing teachers dropped)."""
    from usad.distill.config import load_config

    out, corpus = Path(cfg.out), Path(cfg.corpus)
    common = [f"data.train=[{corpus / 'train' / 'all.jsonl'}]", f"cache_root={out / 'teacher-cache'}",
              f"train.device={cfg.device}", f"train.seed={cfg.seed}"]
    s1 = common + [f"train.out_dir={out / 'stage1'}"]
    s2 = common + [f"train.out_dir={out / 'stage2'}", f"student.init_from={out / 'stage1'}"]
    if cfg.stage1_minutes is not None:
        s1.append(f"train.max_minutes={cfg.stage1_minutes}")
    if cfg.stage2_minutes is not None:
        s2.append(f"train.max_minutes={cfg.stage2_minutes}")
    c1 = load_config(cfg.stage1, s1 + cfg.overrides + cfg.stage1_overrides)
    c2 = load_config(cfg.stage2, s2 + cfg.overrides + cfg.stage2_overrides)
    for c in (c1, c2):
        c.teachers = _usable(c.teachers, cfg.skip_missing_teachers, log)
    return c1, c2


def _usable(teachers, skip: bool, log: Callable[[str], None]):
    from usad.teachers.registry import check_teacher

    keep = []
    for t in teachers:
        ok, why = check_teacher(t.name)
        if ok:
            keep.append(t)
        elif skip:
            log(f"teacher {t.name} ({t.domain}) cannot load here and is left out: {why}")
        else:
            raise RuntimeError(f"teacher {t.name} cannot load: {why}")
    if not keep:
        raise RuntimeError("no demo teacher can load on this machine; run scripts/setup.sh (see `usad teachers`)")
    return keep


# ---- 2. teacher targets ------------------------------------------------------------------------------------
def cache_targets(stages: list, device: str, log: Callable[[str], None] = _log) -> dict[str, float]:
    """Every target the stages train on, cached once (``usad cache --config RECIPE`` for both); seconds per
    teacher."""
    from usad.distill.cache_plan import cache_recipes

    return {job.teacher.name: job.seconds for job in cache_recipes(stages, device, log)}


# ---- 3. training -------------------------------------------------------------------------------------------
def train_stage(dcfg, log: Callable[[str], None] = _log) -> Path:
    """Train one stage unless its run folder holds a student finished with the same settings; returns the student
    folder. A finished run with other settings (not only another budget) is refused, naming what differs."""
    from usad.distill.trainer import train

    out_dir = Path(dcfg.train.out_dir)
    student_dir = out_dir / "student"
    if (student_dir / "config.json").is_file() and (out_dir / "done.json").is_file():
        _check_finished(dcfg, out_dir)
        log(f"stage {dcfg.stage}: finished earlier, reusing {student_dir}")
        return student_dir
    t = dcfg.train
    budget = f"{t.max_minutes:g} min" if t.max_minutes else f"{t.max_steps} steps"
    log(f"stage {dcfg.stage}: training for {budget} -> {out_dir}")
    t0 = time.perf_counter()
    result = train(dcfg)
    atomic_write_text(out_dir / "done.json", json.dumps({"step": result.step, "last_loss": result.last_loss,
                                                         "stopped_by": result.stopped_by,
                                                         "seconds": round(time.perf_counter() - t0, 1)}))
    return student_dir


def _check_finished(dcfg, out_dir: Path) -> None:
    """A finished stage is reused only for the settings it was trained with (its ``config.yaml``); the budget
    (``train.max_minutes`` / ``max_steps``) may differ, since a finished run is not extended."""
    import yaml

    from usad.distill.resume import SHOWN, config_differences
    from usad.errors import ConfigError

    saved_path = out_dir / "config.yaml"
    if not saved_path.is_file():
        return
    diffs = config_differences(yaml.safe_load(saved_path.read_text(encoding="utf-8")) or {}, dcfg.to_dict())
    if diffs:
        listed = "; ".join(f"{k}: {old!r} -> {new!r}" for k, old, new in diffs[:SHOWN])
        raise ConfigError(f"stage {dcfg.stage}: {out_dir} holds a finished run trained with other settings "
                          f"({len(diffs)} differ: {listed}); reusing it would report that run as this one. "
                          f"Give another --out (or delete {out_dir}) to train with the new settings.")


# ---- 4. probing --------------------------------------------------------------------------------------------
def probe(cfg: DemoConfig, suite: Path, student1: Path, student2: Path, teachers: list,
          log: Callable[[str], None] = _log):
    """Both students, every teacher (with the options it was trained on) and the controls on the suite."""
    from usad.encoders import teacher_spec
    from usad.eval import ProbeProtocol, run_probe_suite

    encoders = {"student (stage 1)": f"student:{student1}", "student": f"student:{student2}"}
    for t in teachers:
        encoders.setdefault(t.name, teacher_spec(t.name, t.options))
    log(f"probing {len(encoders)} encoders and their controls on {suite}")
    protocol = ProbeProtocol(lrs=tuple(cfg.probe_lrs), seeds=tuple(cfg.probe_seeds), batch_size=cfg.probe_batch)
    out = Path(cfg.out)
    return run_probe_suite(suite, encoders, out / "report", protocol=protocol, cache_dir=out / "probe-features",
                           device=cfg.device, tasks=cfg.probe_tasks, recovery=cfg.recovery, log=log)


# ---- 5. report ---------------------------------------------------------------------------------------------
def write_summary(cfg: DemoConfig, results, stage1, stage2, student_dir: Path, timings: dict) -> dict:
    """The verdict (``goal_summary``) with training steps, recipes and timings, as ``<out>/summary.json``."""
    out = Path(cfg.out)
    summary = goal_summary(results, student="student")
    summary["training"] = {f"stage{i}": json.loads((out / f"stage{i}" / "done.json").read_text()) for i in (1, 2)}
    # whether stage 2 kept what stage 1 gained: paired differences per domain, with the verdict of the intervals
    summary["stage2_vs_stage1"] = {d: results.compare("student", "student (stage 1)", d)
                                   for d in results.domains() + ["all"]}
    summary.update({"config": asdict(cfg), "recipes": {"stage1": stage1.to_dict(), "stage2": stage2.to_dict()},
                    "timings": timings, "student_dir": str(student_dir), "report": str(out / "report" / "report.md")})
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, default=str))
    return summary
