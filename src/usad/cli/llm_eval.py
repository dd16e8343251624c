"""`usad llm-eval`: XARES-LLM-style evaluation of a frozen encoder.

Example:
    usad llm-eval --suite data/suite --encoder student:runs/x/student --lm gemma3-270m --steps 200 --out reports/llm
"""
from __future__ import annotations

import argparse
import sys

from usad.encoders import SPEC_HELP


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", required=True, help="folder of HEAR 2021 task folders (scene tasks become QA)")
    p.add_argument("--encoder", required=True, metavar="SPEC", help=SPEC_HELP)
    p.add_argument("--out", required=True, help="output folder (llm_results.json)")
    p.add_argument("--lm", default="gemma3-270m",
                   help="gemma3-270m (registry package) or a local transformers causal-LM folder")
    p.add_argument("--layer", default=None, help="encoder layer name to read (default: the last)")
    p.add_argument("--downsample", type=int, default=4, help="frame downsampling factor")
    p.add_argument("--downsample-mode", choices=("stack", "pool"), default="stack")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--task", action="append", default=None, help="only these task names (repeatable)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")


def run(args: argparse.Namespace) -> int:
    from usad.checkpoint import CheckpointError
    from usad.teachers.assets import TeacherUnavailable
    from usad.eval.llm.run import LLMEvalConfig, run_llm_eval
    from usad.eval.llm.train import LLMTrainConfig

    cfg = LLMEvalConfig(lm=args.lm, layer=args.layer, factor=args.downsample, mode=args.downsample_mode,
                        train=LLMTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                                             warmup=args.warmup))
    try:
        run_llm_eval(args.suite, args.encoder, args.out, cfg, device=args.device, tasks=args.task)
    except (ValueError, OSError, ImportError, FloatingPointError, CheckpointError, TeacherUnavailable) as exc:
        print(f"usad llm-eval: error: {exc}", file=sys.stderr)
        return 2
    return 0
