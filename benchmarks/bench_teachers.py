"""Speed of each available teacher on this machine: seconds of audio processed per second of wall time.

    python benchmarks/bench_teachers.py [--seconds 10] [--batch 2] [--teachers whisper-base crepe-tiny ...]

Each teacher is loaded once, warmed up on a short clip, then timed on a batch of ``--batch`` clips of ``--seconds``
seconds of noise+tones at 16 kHz (all layers requested). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import time

import torch

DEFAULT = ["whisper-base", "crepe-tiny", "crepe-full", "basic-pitch", "pesto", "resemblyzer", "birdnet"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--teachers", nargs="+", default=DEFAULT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from usad.teachers.registry import check_teacher, load_teacher

    n = int(args.seconds * 16000)
    t = torch.arange(n) / 16000
    wav = torch.stack([0.3 * torch.sin(2 * torch.pi * (220 * (b + 1)) * t) + 0.05 * torch.randn(n)
                       for b in range(args.batch)])
    print(f"| teacher | audio s / s (batch {args.batch} x {args.seconds:g} s, {args.threads} threads) | load s |")
    print("|---|---|---|")
    for name in args.teachers:
        ok, why = check_teacher(name)
        if not ok:
            print(f"| {name} | unavailable: {why} | |")
            continue
        t0 = time.perf_counter()
        teacher = load_teacher(name)
        load_s = time.perf_counter() - t0
        layers = sorted(teacher.info.dims)
        teacher(wav[:1, :16000], layers=layers)  # warm-up (lazy imports, kernels)
        t0 = time.perf_counter()
        teacher(wav, layers=layers)
        dt = time.perf_counter() - t0
        print(f"| {name} | {args.batch * args.seconds / dt:.3g} | {load_s:.1f} |", flush=True)


if __name__ == "__main__":
    main()
