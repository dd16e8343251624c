"""`usad extract`: write per-file layer features of a student, a teacher or a control (:mod:`usad.extract`).

The encoder is named as in every verb (``--encoder SPEC``, see :mod:`usad.encoders`); ``--model DIR``,
``--preset NAME`` and ``--teacher NAME`` are short for ``--encoder student:DIR``, ``preset:NAME`` and
``teacher:NAME``.
Exit code 1 when any input failed, 2 when nothing can run (encoder, layers, --out, no input found).
"""
from __future__ import annotations

import argparse

from usad.precision import DTYPE_CHOICES


def _seconds(minimum: float):
    """argparse type: a number of seconds >= ``minimum``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not value >= minimum:
            raise argparse.ArgumentTypeError(f"{text} s is too small; use at least {minimum:g} s")
        return value
    parse.__name__ = "seconds"
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from usad.encoders import SPEC_HELP
    from usad.extract import MIN_CHUNK_SECONDS

    parser.add_argument("inputs", nargs="+", help="audio files, directories (recursive), .jsonl manifests or "
                                                  ".txt lists of paths")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--encoder", metavar="SPEC", help=SPEC_HELP)
    src.add_argument("--model", help="student checkpoint folder (save_pretrained output) or hub id org/name")
    src.add_argument("--preset", help="randomly initialised student preset (small|base|large|xlarge|xxlarge)")
    src.add_argument("--teacher", help="teacher name, see `usad teachers` (e.g. whisper-base)")
    parser.add_argument("--out", required=True, help="output folder (input names are mirrored below it)")
    parser.add_argument("--layers", default="all", help="comma list of layer numbers and/or 'all' (default all)")
    parser.add_argument("--feature", choices=["hidden", "ffn"], default="hidden",
                        help="student output: hidden state or FFN branch (teachers give their own feature)")
    parser.add_argument("--format", choices=["npy", "safetensors"], default="npy")
    parser.add_argument("--batch-seconds", type=_seconds(1.0), default=160.0,
                        help="padded audio per batch (s, >= 1)")
    parser.add_argument("--chunk-seconds", type=_seconds(MIN_CHUNK_SECONDS), default=30.0,
                        help=f"student: longer clips run alone in chunks of this length with 5 s of context on "
                             f"each side (s, >= {MIN_CHUNK_SECONDS:g})")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--dtype", choices=DTYPE_CHOICES, default="auto",
                        help="student precision: auto (default) = bfloat16 autocast on a CPU with native bf16 "
                             "(avx512_bf16/amx_bf16), else float32; float32 forces full precision. Teachers run "
                             "in float32 unless bfloat16/float16 is asked for")


def encoder_spec(args: argparse.Namespace) -> str:
    """The one encoder spec that ``--encoder``, ``--model``, ``--preset`` or ``--teacher`` names."""
    if args.encoder:
        return args.encoder
    if args.model:
        return f"student:{args.model}"
    return f"preset:{args.preset}" if args.preset else f"teacher:{args.teacher}"


def run(args: argparse.Namespace) -> int:
    from usad.extract import extract

    summary = extract(args.inputs, args.out, encoder_spec(args), layers=args.layers, feature=args.feature,
                      fmt=args.format, batch_seconds=args.batch_seconds, chunk_seconds=args.chunk_seconds,
                      device=args.device, dtype=args.dtype)
    return 1 if summary["failed"] else 0
