"""`usad cache`: precompute teacher layers for a corpus manifest (sharded fp16 safetensors, resumable).

Either one teacher (``--teacher NAME --manifest M --out DIR [--layers ...]``) or every teacher of a recipe, with
exactly the layers its mapping reads, into the folders training will look in (``--config RECIPE [key=value]``:
``cache_root`` or each teacher's ``cache``, over ``data.train``). ``--config`` may be repeated for recipes that
share one manifest (a stage 1 and its stage 2): a teacher both read is then run once, for the union of layers.

Many ranks build one cache at once, each its own shards (``--rank R --world-size N``; under torchrun both come
from its RANK / WORLD_SIZE and ``--device cuda`` means this rank's GPU); the last rank to finish writes the index.
"""
from __future__ import annotations

import argparse
import os

from usad.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", action="append",
                        help="recipe (YAML or packaged name): cache every teacher it uses; repeat for the stages "
                             "of one run (one pass per teacher over their shared manifest)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="recipe overrides (with --config; applied to every recipe given)")
    parser.add_argument("--teacher", help="teacher name (see `usad teachers`), hf:<dir>, test:...")
    parser.add_argument("--manifest", help="JSONL corpus manifest (docs/interfaces.md)")
    parser.add_argument("--out", help="cache root; a folder keyed by teacher+layers+config is made")
    parser.add_argument("--layers", type=int, nargs="+", default=None,
                        help="layers to store (default: the sparse K=4 selection of the teacher)")
    parser.add_argument("--shard-size", type=int, default=256, help="clips per shard (default 256)")
    parser.add_argument("--batch-size", type=int, default=8, help="clips per teacher call (default 8)")
    parser.add_argument("--device", default="cpu", help="torch device for the teacher (default cpu)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--rank", type=int, default=int(os.environ.get("RANK", "0")),
                        help="this process's share of the shards (default: torchrun's RANK, else 0)")
    parser.add_argument("--world-size", type=int, default=int(os.environ.get("WORLD_SIZE", "1")),
                        help="processes building the cache together (default: torchrun's WORLD_SIZE, else 1)")


def _device(name: str) -> str:
    """``cuda`` under torchrun means this rank's GPU (LOCAL_RANK)."""
    local = os.environ.get("LOCAL_RANK")
    return f"cuda:{local}" if name == "cuda" and local is not None else name


def _report(what: str, folder, args: argparse.Namespace) -> None:
    from usad.teachers.cache_index import is_complete

    if is_complete(folder):
        print(f"cache ready: {what}{folder}")
    else:
        print(f"rank {args.rank}/{args.world_size}: {what}{folder}: this rank's shards are done; the rank that "
              f"finishes the last shard writes the index (run the same command again to finish or check)")


def run(args: argparse.Namespace) -> int:
    if args.config:
        return _from_recipe(args)
    if not (args.teacher and args.manifest and args.out):
        raise ConfigError("give --config RECIPE, or --teacher, --manifest and --out")
    from usad.teachers.cache import build_cache
    from usad.teachers.registry import load_teacher

    teacher = load_teacher(args.teacher, device=_device(args.device))
    folder = build_cache(teacher, args.manifest, args.out, layers=args.layers, shard_size=args.shard_size,
                         batch_size=args.batch_size, progress=not args.no_progress, rank=args.rank,
                         world_size=args.world_size)
    _report("", folder, args)
    return 0


def _from_recipe(args: argparse.Namespace) -> int:
    from usad.distill.cache_plan import cache_recipes
    from usad.distill.config import load_config

    cfgs = [load_config(c, args.overrides) for c in args.config]
    for job in cache_recipes(cfgs, _device(args.device), rank=args.rank, world_size=args.world_size,
                             progress=not args.no_progress):
        _report(f"{job.teacher.name} layers {sorted(job.layers)} -> ", job.built, args)
    return 0
