"""`usad probe`: frozen-feature probing of one or more encoders on a HEAR-format suite, with a report.

Example:
    usad probe --suite data/suite --encoder student:runs/x/student --encoder teacher:whisper-base \
        --encoder teacher:crepe-full --out reports/probe
"""
from __future__ import annotations

import argparse
import sys

from usad.cli import comma_list
from usad.encoders import SPEC_HELP


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", required=True, help="folder of HEAR 2021 task folders")
    p.add_argument("--encoder", action="append", required=True, metavar="SPEC",
                   help=f"{SPEC_HELP}; optionally NAME=SPEC to set the display name; repeat for several encoders")
    p.add_argument("--out", required=True, help="output folder (results.json, report.md, plots/)")
    p.add_argument("--cache", default=None, help="feature cache folder (default OUT/features)")
    p.add_argument("--task", action="append", default=None, help="only these task names (repeatable)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--lrs", type=comma_list(float), default="1e-4,1e-3,1e-2", help="learning-rate grid")
    p.add_argument("--seeds", type=comma_list(int), default="0,1,2", help="seeds")
    p.add_argument("--probes", type=comma_list(), default="linear,mlp",
                   help="probe kinds for the weighted sum of layers")
    p.add_argument("--per-layer-probes", type=comma_list(), default="linear",
                   help="probe kinds for the per-layer curve ('' = none)")
    p.add_argument("--max-steps", type=int, default=600)
    p.add_argument("--ctc-steps", type=int, default=1500, help="CTC probe steps on sequence tasks (phonemes)")
    p.add_argument("--batch-size", type=int, default=8, help="clips per encoder call")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-controls", action="store_true",
                   help="do not add the controls (a random-init twin of each student:DIR, spectral statistics)")
    p.add_argument("--no-recovery", action="store_true", help="skip teacher recovery on frame-level tasks")
    p.add_argument("--recompute", action="store_true",
                   help="probe again even where the cache holds a result of the same encoder, task, protocol "
                        "and probe code")


def _encoders(items: list[str]) -> dict[str, str]:
    from usad.encoders import parse_spec

    out: dict[str, str] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or ":" in name:
            name, spec = parse_spec(item).label, item
        if name in out:
            raise ValueError(f"encoder name {name!r} given twice; name them with NAME=SPEC")
        out[name] = spec
    return out


def run(args: argparse.Namespace) -> int:
    from usad.checkpoint import CheckpointError
    from usad.teachers.assets import TeacherUnavailable
    from usad.eval.protocol import ProbeProtocol
    from usad.eval.suite import run_probe_suite

    try:
        protocol = ProbeProtocol(
            lrs=args.lrs, seeds=args.seeds, probes=args.probes, per_layer_probes=args.per_layer_probes,
            max_steps=args.max_steps, ctc_steps=args.ctc_steps,
        )
        if not protocol.lrs or not protocol.seeds or not protocol.probes:
            raise ValueError("--lrs, --seeds and --probes each need at least one value")
        run_probe_suite(args.suite, _encoders(args.encoder), args.out, protocol=protocol, cache_dir=args.cache,
                        device=args.device, tasks=args.task, batch_size=args.batch_size, plots=not args.no_plots,
                        controls=not args.no_controls, recovery=not args.no_recovery,
                        reuse_results=not args.recompute)
    except (ValueError, FileNotFoundError, FloatingPointError, CheckpointError, TeacherUnavailable) as exc:
        print(f"usad probe: error: {exc}", file=sys.stderr)
        return 2
    return 0
