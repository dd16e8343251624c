"""`usad bench`: encoder inference throughput and MFU per preset, batch size, dtype and attention scheme.

Each run feeds a padded batch (valid lengths spread 100%..50%) and returns all layers. FLOPs are analytical
(see usad.bench); prints a table and optionally writes JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from usad.cli import comma_list


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--presets", type=comma_list(str), default=["small"], help="comma list, e.g. small,base")
    parser.add_argument("--batch-sizes", type=comma_list(int), default=[1, 4], help="comma list, e.g. 1,8,32")
    parser.add_argument("--dtypes", type=comma_list(str), default=["float32"], help="float32,bfloat16,float16")
    parser.add_argument("--attention", type=comma_list(str), default=["sdpa"], help="sdpa,relpos")
    parser.add_argument("--seconds", type=float, default=10.0, help="padded clip length (s)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="peak dense TFLOP/s for MFU (default: GPU table, or measured on CPU)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", type=Path, default=None, help="also write results to this JSON file")


def _table(rows: list[dict]) -> str:
    cols = [("preset", "{}"), ("attention", "{}"), ("dtype", "{}"), ("batch", "{}"), ("seconds", "{:g}"),
            ("params_m", "{:.1f}"), ("audio_s_per_s", "{:.1f}"), ("tflops", "{:.3f}"), ("mfu", "{:.1%}"),
            ("peak_mem_gb", "{}")]
    head = ["preset", "attn", "dtype", "batch", "clip s", "params M", "audio s/s", "TFLOP/s", "MFU", "peak GB"]
    body = [[fmt.format(r[k]) if r[k] is not None else "-" for k, fmt in cols] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(b) for b in body])


def run(args: argparse.Namespace) -> int:
    import torch

    from usad.bench import DTYPES, bench_one

    if args.threads:
        torch.set_num_threads(args.threads)
    bad = [d for d in args.dtypes if d not in DTYPES] + [a for a in args.attention if a not in ("sdpa", "relpos")]
    if bad:
        print(f"usad bench: unknown dtype/attention {bad}; dtypes {sorted(DTYPES)}, attention sdpa|relpos",
              file=sys.stderr)
        return 2
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("usad bench: --device cuda but torch sees no GPU; use --device cpu", file=sys.stderr)
        return 2
    rows = []
    for preset in args.presets:
        for attention in args.attention:
            for dtype in args.dtypes:
                for batch in args.batch_sizes:
                    r = bench_one(preset, attention, dtype, batch, args.seconds, args.device, args.warmup,
                                  args.iters, args.peak_tflops)
                    rows.append(r.to_dict())
                    print(f"  {preset} {attention} {dtype} b={batch}: {r.audio_s_per_s:.1f} audio s/s, "
                          f"MFU {r.mfu:.1%}", file=sys.stderr, flush=True)
    print(_table(rows))
    if rows:
        print(f"peak: {rows[0]['peak_tflops']:.2f} TFLOP/s ({rows[0]['peak_source']}); device {args.device}; "
              f"torch threads {torch.get_num_threads()}")
    if args.json:
        from usad.io import atomic_write_text

        atomic_write_text(args.json, json.dumps({"results": rows, "torch": torch.__version__}, indent=2))
    return 0
