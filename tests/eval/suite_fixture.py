"""Tiny HEAR-format suites written with the corpus engineer's writer (tones and noise; no committed audio)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from usad.corpus.hear import write_task_files

SR = 16000


def _tone(freq: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.4 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def write_scene_task(root: Path, name: str = "pitch_class", n: tuple[int, int, int] = (12, 6, 6),
                     domain: str | None = "music", seconds: float = 0.4) -> Path:
    """Two classes: low tone (220 Hz) vs high tone (1760 Hz)."""
    rng = np.random.default_rng(0)
    task = root / name
    splits: dict[str, dict[str, list[str]]] = {}
    for split, count in zip(("train", "valid", "test"), n):
        splits[split] = {}
        for i in range(count):
            label = "low" if i % 2 == 0 else "high"
            fname = f"{split}_{i:03d}.wav"
            f = (220.0 if label == "low" else 1760.0) * (1 + 0.03 * rng.standard_normal())
            path = task / "16000" / split / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, _tone(f, seconds, rng), SR)
            splits[split][fname] = [label]
    meta = {"task_name": name, "version": "test", "embedding_type": "scene", "prediction_type": "multiclass",
            "split_mode": "trainvaltest", "sample_duration": seconds, "evaluation": ["top1_acc"]}
    if domain:
        meta["domain"] = domain
    write_task_files(task, meta, ["high", "low"], splits)
    return task


def write_event_task(root: Path, name: str = "beeps", n: tuple[int, int, int] = (6, 3, 3)) -> Path:
    """A 1 s clip of noise with one 1 kHz beep somewhere; event label 'beep' with start/end in ms."""
    rng = np.random.default_rng(1)
    task = root / name
    splits: dict[str, dict[str, list[dict]]] = {}
    for split, count in zip(("train", "valid", "test"), n):
        splits[split] = {}
        for i in range(count):
            wav = (0.02 * rng.standard_normal(SR)).astype(np.float32)
            start = int(rng.integers(100, 600))
            s0, s1 = start * SR // 1000, (start + 300) * SR // 1000
            wav[s0:s1] += _tone(1000.0, (s1 - s0) / SR, rng)
            fname = f"{split}_{i:03d}.wav"
            path = task / "16000" / split / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, wav, SR)
            splits[split][fname] = [{"label": "beep", "start": float(start), "end": float(start + 300)}]
    meta = {"task_name": name, "version": "test", "embedding_type": "event", "prediction_type": "multilabel",
            "split_mode": "trainvaltest", "sample_duration": 1.0, "evaluation": ["event_onset_200ms_fms"],
            "domain": "sound"}
    write_task_files(task, meta, ["beep"], splits)
    return task


def write_sequence_task(root: Path, name: str = "tone_sequence", n: tuple[int, int, int] = (16, 6, 6)) -> Path:
    """Each file is a sequence of 2-4 tones of four pitches (the tokens), with short gaps; labels are the tokens
    in order (a phoneme-recognition task in miniature)."""
    rng = np.random.default_rng(2)
    freqs = {"a": 300.0, "b": 600.0, "c": 1200.0, "d": 2400.0}
    task = root / name
    splits: dict[str, dict[str, list[str]]] = {}
    for split, count in zip(("train", "valid", "test"), n):
        splits[split] = {}
        for i in range(count):
            seq = [str(t) for t in rng.choice(list(freqs), size=int(rng.integers(2, 5)))]
            parts = []
            for t in seq:
                parts += [_tone(freqs[t], 0.2, rng), 0.02 * rng.standard_normal(int(0.08 * SR)).astype(np.float32)]
            fname = f"{split}_{i:03d}.wav"
            path = task / "16000" / split / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, np.concatenate(parts), SR)
            splits[split][fname] = seq
    meta = {"task_name": name, "version": "test", "embedding_type": "sequence", "prediction_type": "multiclass",
            "split_mode": "trainvaltest", "sample_duration": 1.2, "evaluation": ["per"], "domain": "speech"}
    write_task_files(task, meta, sorted(freqs), splits)
    return task
