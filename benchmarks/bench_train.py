"""Training-step throughput of the distillation recipe: seconds of audio per second and MFU.

    python benchmarks/bench_train.py --preset small --teachers whisper-base,crepe-tiny --batch-seconds 32
    python benchmarks/bench_train.py --device cuda --bf16 --compile --batch-seconds 800   # on a GPU

Two modes, both timed on the same synthetic batch:
- cached: teacher targets computed once beforehand (what ``CachedTeacher`` gives): student fwd+bwd+AdamW only;
- live:   teachers run every step; the time is split into teacher forward, student fwd+bwd+step and data
          (reading + cropping + padding real files through the training DataLoader).
MFU uses usad.distill.flops (6 N T + attention terms) against a measured CPU matmul peak or a GPU table.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from usad.distill.config import TeacherConfig
from usad.distill.data import make_loader, manifest_cuts, training_cuts
from usad.distill.flops import train_flops
from usad.peak import peak_flops
from usad.distill.heads import HeadSet
from usad.distill.objective import loss_step
from usad.distill.student import DistillModel
from usad.distill.teacher_set import build_teachers
from usad.distill.weights import domain_weights
from usad.model import Encoder


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def teacher_targets(slots, wav, lengths):
    return {s.name: s.teacher(wav, lengths, s.layers) for s in slots}


def bench_data(clip_seconds: float, batch_seconds: float, workers: int, batches: int) -> float:
    """Seconds per batch to read, crop and pad real FLAC files through the training DataLoader."""
    with tempfile.TemporaryDirectory() as tmp:
        rows, rng = [], np.random.default_rng(0)
        for i in range(max(8, int(2 * batch_seconds / clip_seconds))):
            sf.write(f"{tmp}/{i}.flac", (0.1 * rng.standard_normal(int(16000 * clip_seconds * 1.5)))
                     .astype("float32"), 16000)
            rows.append(json.dumps({"id": str(i), "path": f"{i}.flac", "duration": clip_seconds * 1.5,
                                    "domain": "speech"}))
        Path(tmp, "m.jsonl").write_text("\n".join(rows) + "\n")
        cuts = training_cuts(manifest_cuts([f"{tmp}/m.jsonl"]), clip_seconds, upsample={})
        it = iter(make_loader(cuts, max_duration=batch_seconds, num_buckets=2, seed=0, num_workers=workers))
        next(it)
        t0 = time.perf_counter()
        for _ in range(batches):
            next(it)
        return (time.perf_counter() - t0) / batches


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--layers", type=int, default=None, help="override num_layers")
    ap.add_argument("--dim", type=int, default=None)
    ap.add_argument("--num-heads", type=int, default=None)
    ap.add_argument("--heads-hidden", type=int, default=512)
    ap.add_argument("--teachers", default="whisper-base,crepe-tiny", help="comma list of registry names")
    ap.add_argument("--clip-seconds", type=float, default=4.0)
    ap.add_argument("--batch-seconds", type=float, default=32.0)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the student + heads")
    ap.add_argument("--workers", type=int, default=1, help="DataLoader workers for the data timing")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    over = {k: v for k, v in (("num_layers", args.layers), ("dim", args.dim),
                                          ("num_heads", args.num_heads)) if v}
    student = Encoder.from_preset(args.preset, **over).train()
    tdt = torch.bfloat16 if args.bf16 and device.type == "cuda" else None
    slots = build_teachers([TeacherConfig(name=n) for n in args.teachers.split(",")],
                           student.config.num_layers, 1, device, tdt)
    heads = HeadSet(student.config.dim, {s.name: s.pairs for s in slots}, {s.name: s.dims for s in slots},
                    args.heads_hidden)
    model = DistillModel(student, heads).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda" or None)
    fwd = torch.compile(model, dynamic=True) if args.compile else model

    b = max(1, int(args.batch_seconds // args.clip_seconds))
    wav = 0.1 * torch.randn(b, int(args.clip_seconds * 16000), device=device)
    lengths = torch.full((b,), wav.shape[1], device=device)
    domains = ["speech", "sound", "music"] * b
    weights = domain_weights([s.domain for s in slots], domains[:b]).to(device)
    order = [s.name for s in slots]

    def student_step(targets):
        opt.zero_grad(set_to_none=True)
        res = loss_step(fwd, wav, lengths, targets, weights, order, bf16=args.bf16)
        res.loss.backward()
        opt.step()
        return res.student_frames

    cached = teacher_targets(slots, wav, lengths)
    for _ in range(args.warmup):
        frames = student_step(cached)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        student_step(cached)
    sync(device)
    t_student = (time.perf_counter() - t0) / args.steps

    t_teacher = 0.0
    for i in range(args.steps):
        sync(device)
        t0 = time.perf_counter()
        teacher_targets(slots, wav, lengths)
        sync(device)
        t_teacher += time.perf_counter() - t0
    t_teacher /= args.steps
    t_data = bench_data(args.clip_seconds, args.batch_seconds, args.workers, max(2, args.steps))

    peak, source = peak_flops(device, "bfloat16" if args.bf16 else "float32")
    flops = train_flops(n_params, student.config.num_layers, student.config.dim, frames)
    audio = b * args.clip_seconds
    report = {
        "preset": args.preset, "overrides": over, "params": n_params, "teachers": order, "device": str(device),
        "threads": torch.get_num_threads(), "batch_seconds": audio, "clip_seconds": args.clip_seconds,
        "bf16": args.bf16, "compile": args.compile,
        "cached": {"step_s": t_student, "audio_s_per_s": audio / t_student, "mfu": flops / t_student / peak},
        "live": {"step_s": t_student + t_teacher, "audio_s_per_s": audio / (t_student + t_teacher),
                 "mfu": flops / (t_student + t_teacher) / peak,
                 "share": {"teacher_forward": t_teacher / (t_student + t_teacher),
                           "student_fwd_bwd_step": t_student / (t_student + t_teacher)}},
        "data_s_per_batch": t_data, "data_workers": args.workers, "peak_flops": peak, "peak_source": source,
    }
    print(json.dumps(report, indent=2))
    print(f"cached targets: {report['cached']['audio_s_per_s']:.1f} s audio/s, MFU "
          f"{100 * report['cached']['mfu']:.2f}% | live teachers: {report['live']['audio_s_per_s']:.1f} s "
          f"audio/s (teacher fwd {100 * report['live']['share']['teacher_forward']:.0f}% of the step) | data "
          f"{t_data:.3f} s/batch with {args.workers} worker(s) (overlaps compute)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
