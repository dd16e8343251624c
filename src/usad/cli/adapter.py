"""`usad adapter --for xares|xares-llm --model DIR --out usad_encoder.py`: an encoder file for one model.

X-ARES (``python -m xares.run usad_encoder.py TASKS...``) and XARES-LLM import a file and build its one
``*Encoder`` class with no arguments; this writes such a file with the model, layer and device baked in.
(Without a file: ``USAD_MODEL=DIR python -m xares.run usad/adapters/xares.py TASKS...``.)
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--for", dest="kind", choices=["xares", "xares-llm"], required=True, help="which runner")
    parser.add_argument("--model", required=True, help="student folder, hub id org/name, or preset:NAME")
    parser.add_argument("--out", required=True, help="the .py file to write (its name must be a module name)")
    parser.add_argument("--layer", default="last", help="block index, 'last' or 'mean' (default last)")
    parser.add_argument("--device", default="cpu", help="device the encoder starts on (default cpu)")
    parser.add_argument("--class-name", default=None, help="class name ending in Encoder (default: from --model)")


def run(args: argparse.Namespace) -> int:
    from usad.adapters.encoder_file import write_encoder_file

    layer = int(args.layer) if args.layer.lstrip("-").isdigit() else args.layer
    out = write_encoder_file(args.kind, args.model, args.out, layer, args.device, args.class_name)
    runner = "xares.run" if args.kind == "xares" else "xares_llm.run"
    print(f"wrote {out}; run it with: python -m {runner} {out} ...")
    return 0
