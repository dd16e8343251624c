"""`usad corpus build|info`: build the training corpus and probe suite, or summarise a built one."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="corpus_cmd", metavar="CMD")
    b = sub.add_parser("build", help="locate (or install) the sources and build corpus + probe suite")
    b.add_argument("--out", required=True, help="output folder (re-running resumes and skips written clips)")
    b.add_argument("--size", default="default", choices=["small", "default", "full"],
                   help="small: CI (~minutes of audio per domain); default: CPU demo; full: everything")
    b.add_argument("--seed", type=int, default=0, help="same seed -> byte-identical manifests")
    b.add_argument("--train-minutes", type=float, default=None,
                   help="training corpus minutes per domain (default: the size's; the probe suite keeps the size's)")
    b.add_argument("--only", default=None,
                   help="comma-separated task names and/or 'train' (the training corpus); default: all")
    b.add_argument("--install", action="store_true",
                   help="install missing sources (apt-get only when root; pip into this Python)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    i = sub.add_parser("info", help="per-domain hours and per-task sizes, classes and chance levels")
    i.add_argument("dir", help="a folder written by `usad corpus build`")


def _info(out: Path) -> int:
    info_path, suite_path = out / "build_info.json", out / "probe" / "suite.json"
    if not info_path.exists():
        print(f"usad corpus info: {info_path} not found; build it with `usad corpus build --out {out}`",
              file=sys.stderr)
        return 1
    info = json.loads(info_path.read_text())
    print(f"{out}: size={info['size']} seed={info['seed']} manifest_sha256={info['manifest_sha256'][:16]}")
    print("training corpus:")
    for domain, d in sorted(info.get("domains", {}).items()):
        print(f"  {domain:7s} {d['clips']:6d} clips  {d['hours']:7.3f} h  (synthetic {d['synthetic_hours']:.3f} h)")
    if suite_path.exists():
        from usad.corpus.suite_readme import chance_text, split_sizes

        suite = json.loads(suite_path.read_text())
        print(f"probe tasks ({suite.get('total_clips', 0)} clips, {suite.get('total_seconds', 0.0) / 60:.1f} min):")
        print(f"  {'task':18s} {'type':20s} {'cls':>4s}  {'train / valid / test (or folds)':32s} {'min':>5s}  chance")
        for name in sorted(suite["tasks"]):
            t = suite["tasks"][name]
            print(f"  {name:18s} {t['embedding_type'] + '/' + t['prediction_type']:20s} {t['num_classes']:4d}  "
                  f"{split_sizes(t):32s} {t.get('total_seconds', 0.0) / 60:5.1f}  {chance_text(t)}")
    for msg in info.get("missing", []):
        print("missing: " + msg)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.corpus_cmd == "info":
        return _info(Path(args.dir))
    if args.corpus_cmd != "build":
        print("usage: usad corpus build --out DIR [--size small|default|full] [--seed N] [--only TASKS] "
              "[--install] | usad corpus info DIR", file=sys.stderr)
        return 2
    from usad.corpus.build import build

    t0 = time.time()
    try:
        result = build(args.out, size=args.size, seed=args.seed, only=args.only, do_install=args.install,
                       progress=not args.no_progress, train_minutes=args.train_minutes)
    except ValueError as e:
        print(f"usad corpus build: {e}", file=sys.stderr)
        return 2
    print(f"usad corpus build: {result.rendered} clips written, {result.skipped} already present, "
          f"{len(result.tasks)} probe tasks, {time.time() - t0:.0f} s -> {result.out}")
    for msg in result.messages:
        print("  " + msg)
    return 0
