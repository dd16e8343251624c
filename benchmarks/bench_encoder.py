"""Encoder throughput / MFU benchmark; the same as `usad bench` (see docs/encoder.md).

    python benchmarks/bench_encoder.py --presets small,base --batch-sizes 1,2 --json bench.json
"""
import sys

from usad.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
