"""Tiny corpora and configs for the distillation tests (generated audio, never committed)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

TINY_STUDENT = {"preset": "small", "overrides": {"dim": 32, "num_layers": 2, "num_heads": 2,
                                                 "conv_pos_groups": 4, "conv_channels": 8, "dropout": 0.1}}
DOMAINS = ("speech", "sound", "music")


def write_corpus(folder: Path, n: int = 9, durations=(0.6, 1.0, 1.4), offset: float = 0.0) -> Path:
    """n tones-plus-noise clips (16 kHz WAV) and a manifest with relative paths; returns the manifest path."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        dur = durations[i % len(durations)]
        t = np.arange(int(16000 * (dur + offset))) / 16000
        x = 0.3 * np.sin(2 * np.pi * (200 + 60 * i) * t) + 0.05 * rng.standard_normal(t.size)
        sf.write(folder / f"clip{i}.wav", x.astype("float32"), 16000)
        rows.append({"id": f"clip{i}", "path": f"clip{i}.wav", "duration": dur, "offset": offset,
                     "domain": DOMAINS[i % 3], "source": "test", "synthetic": True})
    manifest = folder / "train.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def tiny_config(manifest: Path, out_dir: Path, **train) -> dict:
    cfg = {"student": TINY_STUDENT,
           "teachers": [{"name": "test:16x4@25:speech"}, {"name": "test:8x2@100:music", "k": 2}],
           "heads": {"hidden": 32},
           "data": {"train": [str(manifest)], "crop_seconds": 1.0, "max_duration": 3.0, "num_workers": 0,
                    "num_buckets": 2},
           "optim": {"warmup_steps": 2, "lr": 1e-3},
           "train": {"out_dir": str(out_dir), "max_steps": 4, "log_every": 1, "ckpt_every": 2,
                     "tensorboard": False, "peak_tflops": 1.0}}
    cfg["train"].update(train)
    return cfg
