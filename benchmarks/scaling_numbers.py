"""The paper's run in numbers (docs/scaling.md): FLOPs per audio second of every preset, throughput per GPU,
GPU-hours of stage 1 and stage 2, cache storage of each teacher's targets and the nodes that finish in a week.

    python benchmarks/scaling_numbers.py                  # the tables of docs/scaling.md (markdown)
    python benchmarks/scaling_numbers.py --measure-reader # + this CPU's Shar reading rate (s of audio / s / core)

FLOPs come from ``usad.distill.flops.train_flops`` on the real student and head modules (built on the meta
device, so even xxlarge costs no memory). Throughput is an **estimate**: achieved FLOP/s (an MFU anchor times the
H100's dense bf16 peak) divided by FLOPs per audio second. No GPU was measured for these tables; every input that
is not computed from the code is a named constant below, with where it comes from.
"""
from __future__ import annotations

import argparse
import math
import time

import torch

from usad.distill.flops import train_flops
from usad.distill.heads import HeadSet
from usad.distill.mapping import LayerPair, sparse_mapping
from usad.model import Encoder
from usad.model.config import PRESETS
from usad.peak import GPU_PEAK_TFLOPS

CLIP_S = 10.0                                     # crop_seconds of every paper recipe
PEAK = dict((n, bf16) for n, bf16, _ in GPU_PEAK_TFLOPS)["H100"] * 1e12
# Reference figures for one H100 (bf16, 10 s clips, all layers, plain PyTorch students); not measured here.
INFER_ANCHOR = {"base": 42_000.0, "large": 14_600.0, "xlarge": 15_700.0}     # s of audio / s, inference
TRAIN_MFU_ANCHOR = {"base": 0.26, "xxlarge": 0.31}                           # base compiled, 1B plain
# The paper's schedule and data (stage 1: USAD 1 = 400k updates, USAD 2.0 = 600k; ~800 s of audio per update).
UPDATES = {"stage 1 (400k)": 400_000, "stage 1, USAD 2.0 (600k)": 600_000, "stage 2 (50k)": 50_000}
AUDIO_PER_UPDATE_S = 800.0
CORPUS_H = {"speech": 116_000, "sound": 21_000, "music": 13_000}
GPUS_PER_NODE, WEEK_H = 8, 168.0


class T:   # a teacher as the recipes use it: published layout, frame rate, window
    def __init__(self, name, params, layers, dim, rate, window_s=None, stage=1):
        self.name, self.params, self.layers, self.dim, self.rate = name, params, layers, dim, rate
        self.window_s, self.stage = window_s, stage


# Layouts from the teachers' published descriptions (parameters rounded); stage 1 = src/usad/configs/stage1-*,
# stage 2 = stage2-*. Whisper-style encoders run a fixed 30 s window, so a 10 s crop costs a whole window.
TEACHERS = [T("WavLM Base+", 94.7e6, 12, 768, 50.0), T("ATST-Frame", 86e6, 12, 768, 25.0),
            T("MuQ", 300e6, 12, 1024, 25.0),
            T("Whisper large-v3 (encoder)", 635e6, 32, 1280, 50.0, window_s=30.0, stage=2),
            T("AF-Whisper", 635e6, 32, 1280, 50.0, window_s=30.0, stage=2)]


def student(name: str) -> Encoder:
    with torch.device("meta"):
        return Encoder.from_preset(name)


def pairs(t: T, student_layers: int) -> list[LayerPair]:
    return sparse_mapping(student_layers, t.layers, 4) if t.stage == 1 else [LayerPair(student_layers, t.layers)]


def heads_params(enc: Encoder, stage: int) -> int:
    ts = [t for t in TEACHERS if t.stage == stage]
    plan = {t.name: pairs(t, enc.config.num_layers) for t in ts}
    dims = {t.name: {l: t.dim for l in range(1, t.layers + 1)} for t in ts}
    with torch.device("meta"):
        heads = HeadSet(enc.config.dim, plan, dims, 1024)
    return sum(p.numel() for p in heads.parameters())


def frames(rate: float, seconds: float = CLIP_S) -> torch.Tensor:
    return torch.tensor([math.ceil(rate * seconds)])


def student_flops(name: str, stage: int) -> tuple[float, float, int]:
    """(training FLOPs per audio second with heads, inference FLOPs per audio second, student parameters)."""
    enc = student(name)
    c = enc.config
    n = sum(p.numel() for p in enc.parameters())
    f = frames(c.frame_rate)
    train = train_flops(n + heads_params(enc, stage), c.num_layers, c.dim, f) / CLIP_S
    infer = train_flops(n, c.num_layers, c.dim, f) / 3 / CLIP_S
    return train, infer, n


def teacher_flops(t: T) -> float:
    """Forward FLOPs per second of audio (a Whisper window is computed whole for a 10 s crop)."""
    seconds = t.window_s or CLIP_S
    return train_flops(t.params, t.layers, t.dim, frames(t.rate, seconds)) / 3 / CLIP_S


def train_mfu(params: float) -> tuple[float, str]:
    b, x = student("base"), student("xxlarge")
    nb, nx = (sum(p.numel() for p in e.parameters()) for e in (b, x))
    if params <= nb:
        return TRAIN_MFU_ANCHOR["base"], "anchor" if params == nb else "assumed: base's"
    if params >= nx:
        return TRAIN_MFU_ANCHOR["xxlarge"], "anchor"
    w = math.log(params / nb) / math.log(nx / nb)
    return TRAIN_MFU_ANCHOR["base"] + w * (TRAIN_MFU_ANCHOR["xxlarge"] - TRAIN_MFU_ANCHOR["base"]), "log-interpolated"


def infer_mfu() -> dict[str, float]:
    return {k: v * student_flops(k, 1)[1] / PEAK for k, v in INFER_ANCHOR.items()}


def teacher_rate(t: T, mfus: dict[str, float]) -> float:
    """Teacher seconds of audio per second on one H100 at the inference MFU of the student closest in size."""
    sizes = {k: student_flops(k, 1)[2] for k in mfus}
    near = min(sizes, key=lambda k: abs(math.log(sizes[k] / t.params)))
    return mfus[near] * PEAK / teacher_flops(t)


def tables(out=print) -> None:
    mfus = infer_mfu()
    trates = {t.name: teacher_rate(t, mfus) for t in TEACHERS}
    out("| preset | student params | frames/s | train GFLOP per audio s (stage 1 / 2) | inference GFLOP per "
        "audio s | implied inference MFU | training MFU used | est. training s audio/s per H100, cached "
        "targets (stage 1 / 2) | same, live teachers (stage 1 / 2) |")
    out("|---|---|---|---|---|---|---|---|---|")
    rates = {}
    for name in PRESETS:
        t1, inf, n = student_flops(name, 1)
        t2, _, _ = student_flops(name, 2)
        mfu, how = train_mfu(n)
        rates[name] = (mfu * PEAK / t1, mfu * PEAK / t2)
        live = [1 / (1 / rates[name][s - 1] + sum(1 / trates[t.name] for t in TEACHERS if t.stage == s))
                for s in (1, 2)]
        imp = f"{mfus[name]:.0%} (anchor {INFER_ANCHOR[name]:,.0f} s/s)" if name in mfus else "-"
        out(f"| {name} | {n / 1e6:.1f} M | {PRESETS[name]['frame_rate']:.0f} | {t1 / 1e9:.1f} / {t2 / 1e9:.1f} | "
            f"{inf / 1e9:.2f} | {imp} | {mfu:.1%} ({how}) | {rates[name][0]:,.0f} / {rates[name][1]:,.0f} | "
            f"{live[0]:,.0f} / {live[1]:,.0f} |")
    out("")
    out("| teacher | stage | params | layers x width @ rate | forward GFLOP per audio s | est. s audio/s per H100 |")
    out("|---|---|---|---|---|---|")
    for t in TEACHERS:
        win = f", {t.window_s:.0f} s window" if t.window_s else ""
        out(f"| {t.name} | {t.stage} | {t.params / 1e6:.0f} M | {t.layers} x {t.dim} @ {t.rate:.0f} Hz{win} | "
            f"{teacher_flops(t) / 1e9:.1f} | {trates[t.name]:,.0f} |")
    out("")
    out("| preset | stage | updates | audio seen | GPU-h, cached targets | GPU-h, live teachers |")
    out("|---|---|---|---|---|---|")
    pipeline: dict[str, list[float]] = {}
    for name in PRESETS:
        for label, steps in UPDATES.items():
            stage = 2 if label.startswith("stage 2") else 1
            if stage == 1 and name == "xxlarge":
                continue   # xxlarge starts from the up-scaled xlarge: its stage 1 is xlarge's
            audio = steps * AUDIO_PER_UPDATE_S
            cached = audio / rates[name][stage - 1] / 3600
            live = cached + sum(audio / trates[t.name] / 3600 for t in TEACHERS if t.stage == stage)
            out(f"| {name} | {label} | {steps:,} | {audio / 3600:,.0f} h | {cached:,.1f} | {live:,.1f} |")
            if "USAD 2.0" in label or stage == 2:
                acc = pipeline.setdefault(name, [0.0, 0.0])
                acc[0], acc[1] = acc[0] + cached, acc[1] + live
            if "USAD 2.0" in label and name == "xlarge":
                pipeline["xxlarge"] = [cached, live]      # xxlarge's stage 1 is xlarge's
    out("")
    out("| preset | USAD 2.0 pipeline (stage 1 600k + stage 2), GPU-h cached / live | on one 8-GPU node, live "
        "teachers | 8-GPU nodes that finish in a week |")
    out("|---|---|---|---|")
    for name, (cached, live) in pipeline.items():
        note = " (stage 1 = xlarge's, then `usad upscale`)" if name == "xxlarge" else ""
        out(f"| {name}{note} | {cached:,.0f} / {live:,.0f} | {live / GPUS_PER_NODE:,.1f} h | "
            f"{math.ceil(live / (GPUS_PER_NODE * WEEK_H))} |")
    out("")
    hours = sum(CORPUS_H.values())
    out(f"| teacher | cached layers (recipes' mapping) | bytes per audio s (fp16) | storage for {hours:,} h | "
        f"GPU-h to build it |")
    out("|---|---|---|---|---|")
    total, build = 0.0, 0.0
    for t in TEACHERS:
        layers = sorted({p.teacher for name in PRESETS for p in pairs(t, student(name).config.num_layers)})
        per_s = len(layers) * t.dim * t.rate * 2
        total += per_s * hours * 3600
        gpu_h = hours * 3600 / trates[t.name] / 3600
        build += gpu_h
        out(f"| {t.name} | {layers} | {per_s / 1e3:,.0f} kB | {per_s * hours * 3600 / 1e12:,.0f} TB | "
            f"{gpu_h:,.0f} |")
    out(f"| all | | | {total / 1e12:,.0f} TB | {build:,.0f} |")


def measure_reader(clips: int = 48, seconds: float = 10.0, workers: int = 0) -> float:
    """Seconds of audio per second that one Shar reader (one process) turns into cropped training batches."""
    import tempfile
    from pathlib import Path

    import numpy as np
    import soundfile as sf

    from usad.distill.data import manifest_cuts, write_shar
    from usad.distill.shar_stream import shar_loader

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        lines = []
        for i in range(clips):
            path = Path(tmp) / f"c{i}.flac"
            sf.write(path, (0.1 * rng.standard_normal(int(16000 * seconds))).astype(np.float32), 16000)
            lines.append(f'{{"id": "c{i}", "path": "{path}", "duration": {seconds}, "domain": "speech"}}\n')
        (Path(tmp) / "m.jsonl").write_text("".join(lines))
        write_shar(manifest_cuts([str(Path(tmp) / "m.jsonl")]), f"{tmp}/shar", shard_size=8)
        loader = shar_loader([f"{tmp}/shar"], rank=0, world_size=1, num_workers=workers, positions=None, first=0,
                             seed=0, max_duration=80.0, num_buckets=1, shuffle_buffer=100, crop_seconds=seconds,
                             min_seconds=0.5, upsample={}, crop_grid=0.04)
        it = iter(loader)
        next(it)
        t0, audio = time.perf_counter(), 0.0
        while audio < clips * seconds * 2:
            audio += next(it).seconds
        return audio / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure-reader", action="store_true", help="also time one Shar reader on this CPU")
    args = parser.parse_args()
    tables()
    if args.measure_reader:
        print(f"\none Shar reader, one core: {measure_reader():,.0f} s of audio per second "
              f"(10 s FLAC clips at 16 kHz, decoded and cropped into batches)")


if __name__ == "__main__":
    main()
