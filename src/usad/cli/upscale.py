"""`usad upscale --in CKPT --out CKPT [--plan 0-23,8-31]`: a deeper student by copying trained blocks.

The default plan is the paper's: the first 3/4 of the blocks, then the last 3/4 (32 -> 48: 0-23, 8-31; 0-based).
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in", dest="src", required=True, help="student folder, or a `usad distill` run folder")
    parser.add_argument("--out", dest="dst", required=True, help="output student folder")
    parser.add_argument("--plan", default=None,
                        help="0-based old block per new block, ranges inclusive (default: paper's 0-23,8-31 rule)")


def run(args: argparse.Namespace) -> int:
    from usad.distill.upscale import upscale_checkpoint
    from usad.model import Encoder

    out = upscale_checkpoint(args.src, args.dst, args.plan)
    n = Encoder.from_pretrained(out).config.num_layers
    print(f"wrote {out} ({n} layers)")
    return 0
