"""`usad cache`: precompute teacher layers for a corpus manifest (sharded fp16 safetensors, resumable)."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--teacher", required=True, help="teacher name (see `usad teachers`), hf:<dir>, test:...")
    parser.add_argument("--manifest", required=True, help="JSONL corpus manifest (docs/interfaces.md)")
    parser.add_argument("--out", required=True, help="cache root; a folder keyed by teacher+layers+config is made")
    parser.add_argument("--layers", type=int, nargs="+", default=None,
                        help="layers to store (default: the sparse K=4 selection of the teacher)")
    parser.add_argument("--shard-size", type=int, default=256, help="clips per shard (default 256)")
    parser.add_argument("--batch-size", type=int, default=8, help="clips per teacher call (default 8)")
    parser.add_argument("--device", default="cpu", help="torch device for the teacher (default cpu)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from usad.teachers.cache import build_cache
    from usad.teachers.registry import load_teacher

    teacher = load_teacher(args.teacher, device=args.device)
    folder = build_cache(teacher, args.manifest, args.out, layers=args.layers, shard_size=args.shard_size,
                         batch_size=args.batch_size, progress=not args.no_progress)
    print(f"cache ready: {folder}")
    return 0
