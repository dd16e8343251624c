"""`usad distill --config RECIPE [key=value ...]`: distil a student from frozen teachers (stage 1 or 2).

RECIPE is a YAML file or a packaged recipe name (see ``--list``). Overrides use dotted keys, values parsed as
YAML: ``optim.lr=1e-3 train.max_minutes=15 teachers.0.name=crepe-tiny data.train=[corpus/train.jsonl]``.
Multi-GPU / multi-process: ``torchrun --nproc_per_node=N -m usad distill --config ...``.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="recipe YAML file or packaged recipe name (e.g. offline-small)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. optim.lr=1e-3")
    parser.add_argument("--list", action="store_true", help="list the packaged recipes and exit")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def run(args: argparse.Namespace) -> int:
    from usad.distill.config import ConfigError, load_config, packaged_recipes

    if args.list:
        print("\n".join(packaged_recipes()))
        return 0
    if not args.config:
        raise ConfigError("--config is required (a YAML recipe; `usad distill --list` shows packaged ones)")
    cfg = load_config(args.config, args.overrides)
    if args.print_config:
        import yaml

        print(yaml.safe_dump(cfg.to_dict(), sort_keys=False), end="")
        return 0
    if not cfg.data.train and not cfg.data.shar:
        raise ConfigError("config data: give data.train=[manifest.jsonl, ...] (JSONL manifests) or "
                          "data.shar=[dir, ...] (lhotse Shar folders)")
    from usad.distill.trainer import train

    train(cfg)
    return 0
