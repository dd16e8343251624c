"""What the stage-1 benchmarks share (``recipe_trials.py``, ``learning_curve.py``): their common arguments, and
training a set of stage-1 runs on the main job's corpus and caches, then probing them in one suite run beside
their controls and the recipe's teachers."""
from __future__ import annotations

import argparse
from pathlib import Path

from usad.cli import comma_list


def add_run_arguments(p: argparse.ArgumentParser, out: str) -> None:
    p.add_argument("--recipe", default="cpu-stage1")
    p.add_argument("--corpus", default="data/corpus")
    p.add_argument("--cache", default="runs/demo/teacher-cache", help="teacher caches (shared with the demo)")
    p.add_argument("--out", default=out)
    p.add_argument("--device", default="cpu")
    p.add_argument("--probe-lrs", type=comma_list(float), default="1e-3")
    p.add_argument("--probe-seeds", type=comma_list(int), default="0")
    p.add_argument("--probe-features", default=None, help="probe feature cache (default OUT/probe-features)")
    p.add_argument("--task", action="append", dest="tasks")
    p.add_argument("--no-recovery", action="store_true", help="skip teacher recovery (probe scores only)")


def load_runs(args, runs: dict[str, list[str]]) -> dict:
    """Builds the default corpus if needed; one stage-1 DistillConfig per run name (``runs``: name -> overrides)."""
    from usad.corpus.build import build
    from usad.distill.config import load_config

    out, corpus = Path(args.out), Path(args.corpus)
    build(corpus, size="default")
    base = [f"data.train=[{corpus / 'train' / 'all.jsonl'}]", f"cache_root={args.cache}",
            f"train.device={args.device}"]
    return {n: load_config(args.recipe, base + [f"train.out_dir={out / n}"] + o) for n, o in runs.items()}


def final_losses(run_dir: Path) -> dict:
    """Last logged loss per teacher and its floor (the loss of predicting the mean frame), from TensorBoard."""
    from usad.distill.target_stats import TargetStats

    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return {}
    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    stats = TargetStats.load(run_dir)
    out = {}
    for tag in acc.Tags().get("scalars", []):
        if tag.startswith("loss/") and tag != "loss/total":
            name = tag[len("loss/"):]
            out[name] = {"loss": acc.Scalars(tag)[-1].value, "floor": (stats.floor.get(name) if stats else None)}
    return out


def train_and_probe(args, configs: dict, labels: dict[str, str] | None = None, extra: dict[str, str] | None = None):
    """Caches the teachers' targets, trains (or reuses) every run, probes the students (named ``labels[run]``,
    default the run name) with the recipe's teachers, the controls and the ``extra`` encoders ({name: spec});
    returns the suite's Results."""
    from usad.distill.cache_plan import cache_recipes
    from usad.encoders import teacher_spec
    from usad.eval import ProbeProtocol, run_probe_suite
    from usad.pipeline.demo import train_stage

    cache_recipes(list(configs.values()), args.device)
    encoders = {(labels or {}).get(n, n): f"student:{train_stage(c)}" for n, c in configs.items()}
    encoders.update(extra or {})
    for c in configs.values():
        for t in c.teachers:
            if t.name != "fbank":
                encoders.setdefault(t.name, teacher_spec(t.name, t.options))
    out = Path(args.out)
    protocol = ProbeProtocol(lrs=tuple(args.probe_lrs), seeds=tuple(args.probe_seeds), batch_size=1024)
    return run_probe_suite(Path(args.corpus) / "probe", encoders, out / "report", protocol=protocol,
                           device=args.device, cache_dir=args.probe_features or out / "probe-features",
                           tasks=args.tasks, recovery=not args.no_recovery)
