"""One performance check that fills a short GPU lease: every figure in one run, under 8 minutes.

    python benchmarks/gpu_check.py --out DIR [--device cuda] [--quick]     # DIR/gpu_check.json + gpu_check.md
    python benchmarks/gpu_check.py --out DIR --device cpu --audio clip.flac  # bf16 against fp32 on this CPU

Sections (each under its own time guard; whatever a guard cuts is recorded as "skipped: time guard ..."):
- env:       device, driver, torch/CUDA versions, the peak FLOP/s MFU divides by;
- inference: every preset x attention (sdpa, relpos; and sdpa with a key-padding mask) x bf16 (and fp32 for
             small/base), 10 s clips, all layers, best batch size: audio s/s, MFU, peak memory; one 10-minute clip
             through extract_long;
- peers:     transformers HuBERT-Large, WavLM-Large, Whisper-large-v3 encoder (SDPA and eager), random weights,
             same run and inputs: audio s/s and our ratio against each;
- train:     one optimiser step per preset on cached targets (student + heads), bf16 autocast, fused AdamW,
             torch.compile where the guard allows; FSDP2 at xlarge on one device: step time, audio s/s, MFU;
- distill:   the whisper-base teacher-cache build rate, then a 3-minute stage-1 run of the base preset;
- cpu_bf16:  (``--device cpu``) float32 against bf16 autocast and bf16 weights, with per-layer fidelity, for
             usad and transformers peers.
``--quick`` runs every section at toy sizes (CI proves the script works: under 3 minutes on 2 CPU cores).
Nothing is installed or downloaded: models get random weights from their configs.

The Markdown puts the given H100 anchors and the targets beside the measured values, labelled as such.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if (HERE.parent / "src" / "usad").is_dir():   # run from a checkout: this tree's usad, not an installed one
    sys.path.insert(0, str(HERE.parent / "src"))

# seconds per section: (GPU run, --quick, CPU run)
BUDGETS = {"inference": (95, 25, 0), "peers": (40, 20, 0), "train": (80, 30, 0), "distill": (215, 45, 0),
           "cpu_bf16": (0, 40, 1500)}
TOTAL = {"gpu": 450, "quick": 170, "cpu": 1600}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="folder for gpu_check.json and gpu_check.md")
    p.add_argument("--device", default=None, help="cuda (default when a GPU is visible) or cpu")
    p.add_argument("--quick", action="store_true", help="toy sizes: proves every section runs (CI)")
    p.add_argument("--sections", default=None, help="comma list to run (default: all that apply)")
    p.add_argument("--budget-s", type=float, default=None, help="overall time limit (default: 450 s on a GPU, "
                                                                  "170 s with --quick, 1600 s for the CPU run)")
    p.add_argument("--work", type=Path, default=None, help="scratch folder for the distill section's audio, caches "
                                                            "and run (default: a temporary folder, removed at the "
                                                            "end; never under --out, whose files a device tool "
                                                            "copies back)")
    p.add_argument("--corpus", default=None, help="distill: a JSONL training manifest to use")
    p.add_argument("--distill-minutes", type=float, default=3.0, help="distill: stage-1 wall-clock budget")
    p.add_argument("--threads", type=int, default=2, help="cpu_bf16: torch CPU threads (default 2)")
    p.add_argument("--rounds", type=int, default=5, help="cpu_bf16: interleaved timed rounds (default 5)")
    p.add_argument("--audio", default=None, help="cpu_bf16: a real clip to run (default: synthetic)")
    p.add_argument("--trained", action="append", default=[], help="cpu_bf16: a trained student folder to check "
                                                                    "bf16 fidelity on (repeatable)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    import torch

    from perfcheck import report
    from perfcheck.common import Guard, load_average
    from usad.io import atomic_write_text, make_temp_dir

    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_check: --device cuda but torch sees no GPU; use --device cpu", file=sys.stderr)
        return 2
    mode = "quick" if args.quick else ("gpu" if device.type == "cuda" else "cpu")
    if args.quick and device.type == "cpu":
        # toy models are all tiny ops: with 2 threads on a 2-core machine that other jobs load, every op waits for
        # the other thread's time slice (a toy forward then takes ~100x longer), so --quick runs on one thread
        torch.set_num_threads(1)
        args.threads = 1
    column = {"gpu": 0, "quick": 1, "cpu": 2}[mode]
    wanted = set(args.sections.split(",")) if args.sections else None
    t_start = time.monotonic()
    deadline = t_start + (args.budget_s or TOTAL[mode])
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or make_temp_dir(tempfile.gettempdir(), "usad-gpu-check-")
    result = {"format": 1, "created": time.strftime("%Y-%m-%d %H:%M:%S %z"),
              "command": "python benchmarks/gpu_check.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "mode": mode, "device": str(device), "budget_s": deadline - t_start,
              "anchors": report.ANCHORS, "targets": report.TARGETS}

    def save() -> None:
        result["elapsed_s"] = time.monotonic() - t_start
        atomic_write_text(args.out / "gpu_check.json", json.dumps(result, indent=2, default=str) + "\n")
        atomic_write_text(args.out / "gpu_check.md", report.markdown(result))

    from perfcheck import env

    result["env"] = env.run(device)
    save()
    for name in ("inference", "peers", "train", "distill", "cpu_bf16"):
        budget = BUDGETS[name][column]
        if wanted is not None and name not in wanted:
            result[name] = {"status": "skipped: not in --sections"}
            continue
        if budget == 0:
            result[name] = {"status": ("skipped: a GPU section; run with --device cuda (or --quick for toy sizes "
                                       "on CPU)") if name != "cpu_bf16" else
                            "skipped: a CPU section (bf16 against fp32 on the CPU); run with --device cpu"}
            continue
        guard = Guard(name, budget, deadline)
        if guard.left() < 5:
            result[name] = {"status": f"skipped: {guard.reason(5)}"}
            continue
        print(f"gpu_check: {name} (budget {budget} s, {guard.left():.0f} s left)", flush=True)
        load = load_average()
        try:
            result[name] = _section(name, device, args, guard, work)
        except Exception as exc:   # one failing section must not cost the others' figures
            result[name] = {"status": f"failed: {type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc()[-4000:]}
            print(result[name]["traceback"], file=sys.stderr, flush=True)
        result[name].update(budget_s=budget, elapsed_s=round(guard.elapsed(), 1), load_start=load,
                            load_end=load_average())
        save()
    save()
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    print(f"gpu_check: wrote {args.out / 'gpu_check.json'} and {args.out / 'gpu_check.md'} in "
          f"{time.monotonic() - t_start:.0f} s")
    failed = [n for n in BUDGETS if str(result.get(n, {}).get("status", "")).startswith("failed")]
    return 1 if failed else 0


def _section(name: str, device, args, guard, work: Path) -> dict:
    if name == "inference":
        from perfcheck import inference
        return inference.run(device, args.quick, guard)
    if name == "peers":
        from perfcheck import peers
        return peers.run(device, args.quick, guard)
    if name == "train":
        from perfcheck import train
        return train.run(device, args.quick, guard)
    if name == "distill":
        from perfcheck import distill
        return distill.run(device, args.quick, guard, work / "distill", args.corpus, args.distill_minutes)
    from perfcheck import cpu
    return cpu.run(device, args.quick, guard, args.threads, 1 if args.quick else args.rounds, args.audio,
                   args.trained)


if __name__ == "__main__":
    sys.exit(main())
