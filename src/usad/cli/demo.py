"""`usad demo`: the main job - build data, distil a universal student from real offline teachers (two packaged
recipes), probe it, its controls and every teacher, write the report and print the verdict."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from usad.cli import comma_list


def add_arguments(p: argparse.ArgumentParser) -> None:
    from usad.pipeline import DemoConfig

    d = DemoConfig()
    p.add_argument("--out", default=d.out, help="run folder (training runs, caches, report) [%(default)s]")
    p.add_argument("--corpus", default=d.corpus, help="corpus + probe suite folder [%(default)s]")
    p.add_argument("--size", default=d.size, choices=["small", "default", "full"], help="corpus size [%(default)s]")
    p.add_argument("--device", default=d.device, help="cpu | cuda [%(default)s]")
    p.add_argument("--stage1", default=d.stage1, help="stage-1 recipe (packaged name or YAML) [%(default)s]")
    p.add_argument("--stage2", default=d.stage2, help="stage-2 recipe [%(default)s]")
    p.add_argument("--stage1-minutes", type=float, default=None, help="stage-1 budget (default: the recipe's)")
    p.add_argument("--stage2-minutes", type=float, default=None, help="stage-2 budget (default: the recipe's)")
    p.add_argument("--student", default=None,
                   help="student preset instead of the recipe's Whisper-seeded 6 x 512 student (e.g. base on a "
                        "GPU); it starts from random weights")
    p.add_argument("--student-override", action="append", default=[], metavar="KEY=VALUE",
                   help="EncoderConfig field of the student (repeatable), e.g. num_layers=8")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="recipe override for both stages (repeatable), e.g. optim.lr=1e-3")
    p.add_argument("--task", action="append", dest="tasks", help="probe only these tasks (repeatable)")
    p.add_argument("--probe-seeds", type=comma_list(int), default="0", help="probe seeds [%(default)s]; e.g. 0,1,2")
    p.add_argument("--probe-lrs", type=comma_list(float), default="1e-3",
                   help="probe learning-rate grid [%(default)s]; e.g. 1e-4,1e-3,1e-2")
    p.add_argument("--no-recovery", action="store_true",
                   help="skip teacher recovery (how much of each teacher layer the students and controls hold); "
                        "probe scores and PER are unchanged")
    p.add_argument("--seed", type=int, default=d.seed)


def run(args: argparse.Namespace) -> int:
    from usad.distill.config import parse_override
    from usad.pipeline import DemoConfig, run_demo
    from usad.pipeline.summary import format_summary

    overrides = list(args.overrides)
    if args.student:   # another preset starts from its own shape
        overrides += [f"student.preset={args.student}", "student.overrides={}", "student.warm_start=null"]
    overrides += [f"student.overrides.{item}" for item in args.student_override]
    for item in overrides:   # a malformed key=value is refused here, before the corpus is built
        parse_override(item)
    cfg = DemoConfig(out=args.out, corpus=args.corpus, size=args.size, device=args.device, stage1=args.stage1,
                     stage2=args.stage2, stage1_minutes=args.stage1_minutes, stage2_minutes=args.stage2_minutes,
                     overrides=overrides, seed=args.seed, probe_tasks=args.tasks,
                     probe_seeds=args.probe_seeds, probe_lrs=args.probe_lrs, recovery=not args.no_recovery)
    summary = run_demo(cfg)
    report = Path(summary["report"])
    print()
    print(report.read_text() if report.is_file() else "")
    print(format_summary(summary))
    print(f"\nstudent: {summary['student_dir']}  (usad extract --model {summary['student_dir']} ...)")
    print(f"report: {report}  plots: {report.parent / 'plots'}  summary: {Path(args.out) / 'summary.json'}")
    print(f"timings (s): {json.dumps(summary['timings'])}")
    return 0
