"""`usad <verb>`: one command line for the whole project.

Each verb lives in its own module under ``usad.cli`` exposing ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only when their verb is used, so ``usad --help`` stays fast.

Every user error (``usad.errors.UsadError`` and its subclasses: bad audio, settings, checkpoints, manifests,
unavailable teachers) is caught here, once: its message goes to stderr as ``usad VERB: error: ...`` and the exit
code is 2, with no traceback. Any other exception is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# verb -> (module, one-line help)
VERBS: dict[str, tuple[str, str]] = {
    "extract": ("usad.cli.extract", "extract every layer's features from audio files with a student or a teacher"),
    "bench": ("usad.cli.bench", "measure encoder inference throughput and MFU"),
    "teachers": ("usad.cli.teachers", "list known teachers and whether each loads on this machine"),
    "cache": ("usad.cli.cache", "precompute teacher features for a corpus (sharded, resumable)"),
    "corpus": ("usad.cli.corpus", "build the multi-domain training corpus and probe suite from registry packages"),
    "distill": ("usad.cli.distill", "distil a universal student from frozen teachers (stage 1 / stage 2)"),
    "upscale": ("usad.cli.upscale", "turn a trained checkpoint into a deeper one by copying layers"),
    "probe": ("usad.cli.probe", "frozen-feature probing of encoders on HEAR-format tasks, with a report"),
    "llm-eval": ("usad.cli.llm_eval", "LLM-based evaluation: frozen encoder -> projector -> causal LM with LoRA"),
    "adapter": ("usad.cli.adapter", "write an X-ARES / XARES-LLM encoder file for one model"),
    "demo": ("usad.cli.demo", "the main job: build data, distil, evaluate and report, offline"),
}


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="usad", description="Universal audio encoders by distillation.")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name, (module, help_text) in VERBS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == verb:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verb = next((a for a in argv if not a.startswith("-")), None)
    if verb is not None and verb not in VERBS:
        print(f"usad: unknown verb {verb!r}; choose one of: {', '.join(VERBS)}", file=sys.stderr)
        return 2
    parser = build_parser(verb)
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 0
    from usad.errors import UsadError

    module = importlib.import_module(VERBS[args.verb][0])
    try:
        return int(module.run(args) or 0)
    except UsadError as exc:
        print(f"usad {args.verb}: error: {exc}", file=sys.stderr, flush=True)
        return 2
    except BrokenPipeError:  # e.g. `usad corpus info DIR | head`: the reader left; stop quietly like other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
