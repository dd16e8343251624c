"""`usad demo`: the main job - build data, distil a universal student from real offline teachers, probe it and
every teacher, write the report and print the verdict."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from usad.cli import comma_list


def _teacher(spec: str):
    from usad.pipeline import DemoTeacher

    head, _, opts = spec.partition(",")
    name, sep, domain = head.rpartition("=")
    if not sep or domain not in ("speech", "sound", "music", "any"):
        raise argparse.ArgumentTypeError(
            f"--teacher takes NAME=DOMAIN[,key=value...] (domain speech|sound|music|any), got {spec!r}")
    options = {}
    for item in filter(None, opts.split(",")):
        key, eq, val = item.partition("=")
        if not eq:
            raise argparse.ArgumentTypeError(f"--teacher option {item!r} is not key=value")
        options[key] = _value(val)
    return DemoTeacher(name, domain, options=options)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from usad.pipeline import DemoConfig

    d = DemoConfig()
    p.add_argument("--out", default=d.out, help="run folder (training runs, caches, report) [%(default)s]")
    p.add_argument("--corpus", default=d.corpus, help="corpus + probe suite folder [%(default)s]")
    p.add_argument("--size", default=d.size, choices=["small", "default", "full"], help="corpus size [%(default)s]")
    p.add_argument("--device", default=d.device, help="cpu | cuda [%(default)s]")
    p.add_argument("--student", default=d.student, help="student preset [%(default)s]")
    p.add_argument("--student-override", action="append", default=[], metavar="KEY=VALUE",
                   help="EncoderConfig field override (repeatable); default for the CPU demo: dim=256 "
                        "num_layers=6 num_heads=4 (given overrides or another --student replace it)")
    p.add_argument("--teacher", action="append", type=_teacher, metavar="NAME=DOMAIN[,key=value]",
                   help="stage-1 teacher (repeatable); default: whisper-base=speech,window=clip birdnet=sound "
                        "basic-pitch=music")
    p.add_argument("--stage2-teacher", type=_teacher, default=d.stage2_teacher, metavar="NAME=DOMAIN[,key=value]",
                   help="stage-2 supervised teacher, final layer [whisper-base=speech,window=clip]")
    p.add_argument("--stage1-minutes", type=float, default=d.stage1_minutes, help="[%(default)s]")
    p.add_argument("--stage2-minutes", type=float, default=d.stage2_minutes, help="[%(default)s]")
    p.add_argument("--batch-seconds", type=float, default=d.batch_seconds, help="audio per batch [%(default)s]")
    p.add_argument("--crop-seconds", type=float, default=d.crop_seconds, help="[%(default)s]")
    p.add_argument("--lr", type=float, default=d.lr, help="[%(default)s]")
    p.add_argument("--task", action="append", dest="tasks", help="probe only these tasks (repeatable)")
    p.add_argument("--probe-seeds", type=comma_list(int), default="0", help="probe seeds [%(default)s]; e.g. 0,1 on a GPU")
    p.add_argument("--probe-lrs", type=comma_list(float), default="1e-3", help="probe learning-rate grid [%(default)s]; e.g. 1e-4,1e-3,1e-2")
    p.add_argument("--seed", type=int, default=d.seed)


def _value(text: str):
    import yaml

    return yaml.safe_load(text)


def run(args: argparse.Namespace) -> int:
    from usad.pipeline import DemoConfig, run_demo
    from usad.pipeline.summary import format_summary

    overrides = {}
    for item in args.student_override:
        key, sep, val = item.partition("=")
        if not sep:
            raise SystemExit(f"usad demo: --student-override takes KEY=VALUE, got {item!r}")
        overrides[key] = _value(val)
    cfg = DemoConfig(out=args.out, corpus=args.corpus, size=args.size, device=args.device, student=args.student,
                     stage2_teacher=args.stage2_teacher,
                     stage1_minutes=args.stage1_minutes, stage2_minutes=args.stage2_minutes,
                     batch_seconds=args.batch_seconds, crop_seconds=args.crop_seconds, lr=args.lr,
                     seed=args.seed, probe_tasks=args.tasks,
                     probe_seeds=args.probe_seeds, probe_lrs=args.probe_lrs)
    if args.teacher:
        cfg.teachers = args.teacher
    if overrides or args.student != DemoConfig.student:   # another preset starts from its own shape
        cfg.student_overrides = overrides
    summary = run_demo(cfg)
    report = Path(summary["report"])
    print()
    print(report.read_text() if report.is_file() else "")
    print(format_summary(summary))
    print(f"\nstudent: {summary['student_dir']}  (usad extract --model {summary['student_dir']} ...)")
    print(f"report: {report}  plots: {report.parent / 'plots'}  summary: {Path(args.out) / 'summary.json'}")
    print(f"timings (s): {json.dumps(summary['timings'])}")
    return 0
