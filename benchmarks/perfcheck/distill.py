"""Section ``distill``: the whisper-base teacher-cache build rate on this device, then a 3-minute stage-1 run of
the base preset on those cached targets through ``usad.distill.trainer.train``: steps, throughput, loss curve.

Audio, in this order: ``--corpus MANIFEST``; the default corpus (``data/corpus/train/all.jsonl``) when it is
there; ``usad corpus build --size small --only train`` when every corpus source is installed (Debian audio
packages, espeak-ng, ...); otherwise synthetic audio written here (speech-, sound- and music-like signals, one
domain each). Teacher: the real whisper-base (window=clip, as the CPU recipes) when its packages are installed,
else an encoder of exactly whisper-base's shape with random weights (the same computation, so the same speed).
The output says which of each was used.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

from perfcheck.common import Guard, skipped

LINE = re.compile(r"step (\d+)/\d+ \| loss ([0-9.naninf]+) .*\| ([0-9.]+) s audio/s \| MFU ([0-9.]+)%")
DEFAULT_CORPUS = Path("data/corpus/train/all.jsonl")


class _Tee(io.TextIOBase):
    """Echo to the real stdout and keep every line (the trainer's console lines are the loss curve)."""

    def __init__(self, stream) -> None:
        self.stream, self.lines, self._part = stream, [], ""

    def write(self, text: str) -> int:
        self.stream.write(text)
        self._part += text
        *done, self._part = self._part.split("\n")
        self.lines += done
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def synthetic_corpus(folder: Path, clips: int, seconds: float, seed: int = 0) -> Path:
    """``clips`` WAV files cycling speech-like (harmonic glide with syllable envelope), sound-like (noise bursts)
    and music-like (sustained chords) signals, and their manifest."""
    import soundfile as sf

    from usad.io import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    rows = []
    for i in range(clips):
        domain = ("speech", "sound", "music")[i % 3]
        if domain == "speech":
            f0 = rng.uniform(90, 250) * (1 + 0.1 * np.sin(2 * np.pi * 0.5 * t))
            phase = 2 * np.pi * np.cumsum(f0) / 16000
            x = sum(np.sin(k * phase) / k for k in range(1, 10)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2
        elif domain == "sound":
            env = (rng.random(t.shape[0] // 1600 + 1) > 0.6).repeat(1600)[: t.shape[0]]
            x = rng.standard_normal(t.shape[0]) * env
        else:
            notes = 220 * 2 ** (rng.integers(0, 24, size=3) / 12)
            x = sum(np.sin(2 * np.pi * f * t) for f in notes)
        x = (0.1 * x / (np.abs(x).max() + 1e-9) + 0.003 * rng.standard_normal(t.shape[0])).astype("float32")
        path = folder / f"{domain}-{i:04d}.wav"
        sf.write(path, x, 16000)
        rows.append(json.dumps({"id": f"{domain}-{i:04d}", "path": str(path.resolve()), "duration": seconds,
                                "domain": domain}))
    manifest = folder / "all.jsonl"
    atomic_write_text(manifest, "\n".join(rows) + "\n")
    return manifest


def _corpus_sources_installed() -> tuple[bool, str]:
    try:
        from usad.corpus.locate import SOURCES, locate
    except ImportError as exc:
        return False, f"the corpus builder cannot load ({exc})"
    missing = [n for n in SOURCES if locate(n) is None]
    return (not missing), (f"corpus sources missing here: {', '.join(missing)}" if missing else "all installed")


def choose_corpus(work: Path, quick: bool, corpus: str | None, guard: Guard, log) -> tuple[str, str]:
    """(manifest, how it was obtained)."""
    if corpus:
        return corpus, f"given: {corpus}"
    if DEFAULT_CORPUS.is_file() and not quick:
        return str(DEFAULT_CORPUS), f"the default corpus ({DEFAULT_CORPUS})"
    ok, why = _corpus_sources_installed()
    if quick:
        ok, why = False, "--quick writes a few synthetic clips"
    if ok and guard.allows(120):
        import subprocess

        out = work / "corpus"
        t0 = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "usad", "corpus", "build", "--out", str(out), "--size",
                               "small", "--only", "train"], capture_output=True, text=True, timeout=guard.left())
        manifest = out / "train" / "all.jsonl"
        if done.returncode == 0 and manifest.is_file():
            return str(manifest), f"built here: usad corpus build --size small --only train " \
                                  f"({time.monotonic() - t0:.0f} s)"
        why = f"usad corpus build failed (exit {done.returncode}): {done.stderr.strip()[-300:]}"
    clips, seconds = (6, 2.0) if quick else (90, 10.0)
    log(f"  distill: synthetic audio ({why})")
    return str(synthetic_corpus(work / "synthetic", clips, seconds)), \
        f"synthetic: {clips} clips x {seconds:g} s written here ({why})"


def choose_teacher(quick: bool) -> tuple[str, str]:
    """(registry name, what it is). Registers the random-weight stand-in when the real weights are absent."""
    from usad.teachers import register_teacher
    from usad.teachers.registry import check_teacher, known_teachers
    from usad.teachers.whisper.teacher import WhisperEncoderTeacher, static_info
    from usad.teachers.whisper.encoder import WhisperEncoderConfig, WhisperEncoderTorch

    if not quick:
        ok, why = check_teacher("whisper-base")
        if ok:
            return "whisper-base", "whisper-base (real weights, window=clip)"
    else:
        why = "--quick uses a toy stand-in"
    name = "whisper-toy-random" if quick else "whisper-base-random"
    shape = WhisperEncoderConfig(dim=64, layers=2, heads=2) if quick else WhisperEncoderConfig()

    def info(feature: str = "hidden", window: str = "30s", **_):
        base = static_info(feature, window)
        return type(base)(**{**base.__dict__, "name": name, "num_layers": shape.layers,
                             "dims": {l: shape.dim for l in range(shape.layers + 1)},
                             "extra": {**base.extra, "random_weights": True}, "licence": "random weights"})

    def factory(feature: str = "hidden", window: str = "30s"):
        torch.manual_seed(0)
        return WhisperEncoderTeacher(WhisperEncoderTorch(shape), info(feature, window), window)

    if name not in known_teachers():
        register_teacher(name, factory, info=info)
    return name, (f"{name}: whisper-base's shape ({shape.dim}-d x {shape.layers} blocks) with random weights, "
                  f"window=clip (real whisper-base unavailable: {why.splitlines()[0][:200]})")


def _cache_rate(name: str, manifest: str, root: Path, layers: list[int], window: str, device: torch.device,
                batch_size: int) -> dict:
    from usad.manifest import read_manifest
    from usad.teachers import load_teacher
    from usad.teachers.cache import build_cache

    teacher = load_teacher(name, device=device, window=window)
    rows = read_manifest(manifest)
    audio = sum(float(r.get("duration") or 0.0) for r in rows)
    t0 = time.perf_counter()
    folder = build_cache(teacher, manifest, root, layers=layers, batch_size=batch_size, progress=False)
    took = time.perf_counter() - t0
    del teacher
    return {"teacher": name, "window": window, "clips": len(rows), "audio_s": audio, "seconds": took,
            "clips_per_s": len(rows) / took, "audio_s_per_s": audio / took if audio else None,
            "batch_size": batch_size, "folder": str(folder)}


def run(device: torch.device, quick: bool, guard: Guard, work: Path, corpus: str | None = None,
        minutes: float = 3.0, log=print) -> dict:
    from usad.distill.cache_plan import plan_caches
    from usad.distill.config import load_config
    from usad.distill.trainer import train

    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    manifest, corpus_note = choose_corpus(work, quick, corpus, guard, log)
    teacher, teacher_note = choose_teacher(quick)
    gpu = device.type == "cuda"
    recipe = {
        "stage": 1, "cache_root": str(work / "teacher-cache"),
        "student": {"preset": "base", "overrides": {"dim": 64, "num_layers": 2, "num_heads": 2} if quick else {}},
        "teachers": [{"name": teacher, "domain": "speech", "k": 4, "options": {"window": "clip"}}],
        "heads": {"hidden": 64 if quick else 1024},
        "loss": {"omega": 10.0, "target_norm": "standardize"},
        "data": {"train": [manifest], "crop_seconds": 2.0 if quick else 4.0,
                 "max_duration": 8.0 if quick else 256.0, "num_buckets": 2 if quick else 4,
                 "num_workers": 0 if quick else 6},
        "optim": {"lr": 8.0e-4, "warmup_steps": 1 if quick else 50},
        "train": {"out_dir": str(work / "stage1"), "max_steps": 3 if quick else 1_000_000, "log_every": 1 if quick
                  else 10, "ckpt_every": 0, "tensorboard": False, "device": device.type, "resume": "never"},
    }
    cfg = load_config(recipe)
    jobs = plan_caches([cfg])
    layers = sorted(jobs[0].layers)
    caches = []
    batch_size = 32 if gpu else 4
    caches.append(_cache_rate(teacher, manifest, Path(jobs[0].folder), layers, "clip", device, batch_size))
    log(f"  distill: cache {teacher} (window=clip): {caches[-1]['audio_s_per_s'] or 0:.1f} s audio/s")
    if guard.allows(30 if gpu else 5):   # Whisper's own 30 s windows, batched: the rate a GPU user would pick
        caches.append(_cache_rate(teacher, manifest, work / "cache-30s", layers, "30s", device, batch_size))
    else:
        caches.append(skipped(guard.reason(30), teacher=teacher, window="30s"))
    budget_min = minutes
    if not quick:
        budget_min = min(minutes, max(0.0, (guard.left() - 20.0) / 60.0))
        if budget_min < 0.5:
            return {"status": "measured", "corpus": corpus_note, "teacher": teacher_note, "cache": caches,
                    "stage1": skipped(guard.reason(50), planned_minutes=minutes)}
        cfg = load_config(recipe, [f"train.max_minutes={budget_min}"])
    tee = _Tee(sys.stdout)
    t_train = time.monotonic()
    with contextlib.redirect_stdout(tee):
        result = train(cfg)
    wall = time.monotonic() - t_train
    curve = []
    for line in tee.lines:
        m = LINE.search(line)
        if m:
            curve.append({"step": int(m.group(1)), "loss": float(m.group(2)), "audio_s_per_s": float(m.group(3)),
                          "mfu": float(m.group(4)) / 100})
    rates = [c["audio_s_per_s"] for c in curve[1:]] or [c["audio_s_per_s"] for c in curve]
    stage1 = {"preset": "base" + (" (toy: dim 64, 2 blocks)" if quick else ""), "planned_minutes": minutes,
              "budget_minutes": budget_min if not quick else None, "max_steps": cfg.train.max_steps,
              "steps": result.step, "stopped_by": result.stopped_by, "train_wall_s": wall,
              "steps_per_s": result.step / wall if wall else math.nan, "final_loss": result.last_loss,
              "audio_s_per_s_median": float(np.median(rates)) if rates else None,
              "mfu_median": float(np.median([c["mfu"] for c in curve[1:]] or [0.0])),
              "batch_max_seconds": cfg.data.max_duration, "crop_seconds": cfg.data.crop_seconds,
              "num_workers": cfg.data.num_workers, "precision": "bf16 autocast" if gpu else "float32",
              "loss_curve": curve}
    log(f"  distill: stage 1 {result.step} steps in {wall:.0f} s, final loss {result.last_loss:.4f}")
    return {"status": "measured", "corpus": corpus_note, "teacher": teacher_note, "cache": caches,
            "stage1": stage1, "elapsed_s": time.monotonic() - t0}
