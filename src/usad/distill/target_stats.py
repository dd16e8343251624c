"""Per-dimension statistics of the teachers' targets, and the loss of a constant prediction (the floor).

Teacher features are dominated by their mean vector (the cosine of a whisper-base frame with its layer's mean is
~0.85, of a Basic Pitch frame ~0.97), so L1-cos on raw targets has a trivial minimum near the mean, which a short
run reaches and stays at. With ``loss.target_norm: standardize`` every target dimension is standardised with the
mean and standard deviation of the teacher's cached targets before the loss (the heads predict standardised
targets): what is left to predict is how frames differ, not what they share.

The statistics are computed once per run (from the feature cache, else from the first batches of the data
loader), saved in ``<out_dir>/target_stats.safetensors`` and reloaded on resume. Beside them, each teacher's
*floor*: the L1-cos loss of predicting every frame as the teacher's mean (in the space the loss sees), logged
next to the training loss so a run that learns nothing says so.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from usad.distill.loss import l1_cos_frames

STATS_FILE = "target_stats.safetensors"
MAX_FRAMES = 200_000     # frames per teacher layer read for the statistics (spread over the clips)


@dataclass
class LayerStats:
    mean: torch.Tensor    # (D,)
    std: torch.Tensor     # (D,)


@dataclass
class TargetStats:
    """stats[teacher][layer] and floor[teacher] (mean over the teacher's layers)."""

    norm: str                                            # "none" | "standardize"
    stats: dict[str, dict[int, LayerStats]] = field(default_factory=dict)
    floor: dict[str, float] = field(default_factory=dict)

    def apply(self, teacher: str, layer: int, z: torch.Tensor) -> torch.Tensor:
        """z: (B, T, D) raw targets -> the targets the loss sees."""
        if self.norm != "standardize":
            return z
        s = self.stats[teacher][layer]
        return (z - s.mean.to(z)) / s.std.to(z)

    def save(self, out_dir: str | os.PathLike) -> Path:
        from usad.io import save_safetensors

        path = Path(out_dir) / STATS_FILE
        tensors = {f"{t}/{l}/{k}": getattr(s, k).contiguous() for t, by in self.stats.items()
                   for l, s in by.items() for k in ("mean", "std")}
        return save_safetensors(path, tensors, metadata={"norm": self.norm, "floor": json.dumps(self.floor)})

    @classmethod
    def load(cls, out_dir: str | os.PathLike) -> "TargetStats | None":
        from safetensors import safe_open

        path = Path(out_dir) / STATS_FILE
        if not path.is_file():
            return None
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            out = cls(meta.get("norm", "none"), {}, json.loads(meta.get("floor", "{}")))
            for key in f.keys():
                t, l, k = key.rsplit("/", 2)
                entry = out.stats.setdefault(t, {}).setdefault(int(l), LayerStats(torch.zeros(0), torch.zeros(0)))
                setattr(entry, k, f.get_tensor(key))
        return out


class _Accumulator:
    """Running float64 sums for mean/std, and a reservoir of frames for the floor."""

    def __init__(self) -> None:
        self.n, self.s1, self.s2 = 0, None, None
        self.frames: list[torch.Tensor] = []

    def add(self, z: torch.Tensor) -> None:
        z = z.double()
        if self.s1 is None:
            self.s1, self.s2 = torch.zeros(z.shape[-1], dtype=torch.float64), torch.zeros(z.shape[-1],
                                                                                         dtype=torch.float64)
        self.n += len(z)
        self.s1 += z.sum(0)
        self.s2 += (z * z).sum(0)
        self.frames.append(z[:: max(1, len(z) // 64)].float())

    def result(self) -> LayerStats:
        mean = self.s1 / self.n
        var = (self.s2 / self.n - mean * mean).clamp_min(0.0)
        std = var.sqrt()
        # near-constant dimensions (a piano key no clip plays) are not blown up into unit-variance noise: every
        # std is at least a tenth of the layer's mean std
        floor = 0.1 * float(std.mean()) if float(std.mean()) > 0 else 1.0
        return LayerStats(mean.float(), std.clamp_min(floor).float())


def _floor(norm: str, st: LayerStats, frames: torch.Tensor) -> float:
    """L1-cos of predicting every frame as the mean, in the loss's space (standardised: the zero vector)."""
    z = frames if norm != "standardize" else (frames - st.mean) / st.std
    const = (st.mean if norm != "standardize" else torch.zeros_like(st.mean)).expand_as(z)
    return float(l1_cos_frames(const, z).mean())


def _finish(norm: str, acc: dict[str, dict[int, _Accumulator]]) -> TargetStats:
    out = TargetStats(norm)
    for t, by in acc.items():
        floors = []
        for l, a in by.items():
            if a.n == 0:
                raise ValueError(f"teacher {t!r} layer {l}: no target frame to compute statistics from")
            st = a.result()
            out.stats.setdefault(t, {})[l] = st
            floors.append(_floor(norm, st, torch.cat(a.frames)))
        out.floor[t] = float(sum(floors) / len(floors))
    return out


def from_cache(norm: str, teachers: dict[str, tuple], max_frames: int = MAX_FRAMES) -> TargetStats:
    """``teachers[name] = (CachedTeacher, layers)``: statistics over (a spread of) the cached clips."""
    acc: dict[str, dict[int, _Accumulator]] = {}
    for name, (cached, layers) in teachers.items():
        clips = sorted(cached.index["clips"].items())
        total = sum(n for _, (_, n) in clips)
        stride = max(1, math.ceil(total / max_frames))
        for l in layers:
            a = acc.setdefault(name, {}).setdefault(l, _Accumulator())
            for k, (cid, (shard, n)) in enumerate(clips):
                if stride > 1 and k % stride:
                    continue
                a.add(cached._handle(shard).get_slice(f"{cid}/{l}")[:n].float())
    return _finish(norm, acc)


def for_run(cfg, slots, cuts, out_dir: Path, env) -> TargetStats:
    """The run's target statistics and constant-prediction floors: reloaded from the run folder when it has them
    (resume), else computed from the feature caches (or a few live batches) and saved there."""
    from usad.distill.data import make_loader
    from usad.distill.distributed import all_gather_objects

    saved = TargetStats.load(out_dir)
    if saved is not None and saved.norm == cfg.loss.target_norm and set(saved.floor) == {s.name for s in slots}:
        return saved
    cached = {s.name: (s.teacher, s.layers) for s in slots if hasattr(s.teacher, "index")}
    stats = from_cache(cfg.loss.target_norm, cached) if cached else TargetStats(cfg.loss.target_norm)
    live = [s for s in slots if s.name not in cached]
    if live:   # rank 0 reads a few batches; every rank uses its statistics
        got = None
        if env.is_main:
            d = cfg.data
            loader = make_loader(cuts, max_duration=d.max_duration, num_buckets=d.num_buckets,
                                 seed=cfg.train.seed + 1, num_workers=0)
            it = iter(loader)
            got = from_batches(cfg.loss.target_norm, live, (next(it) for _ in range(cfg.loss.stats_batches)),
                               env.device)
        got = all_gather_objects(got, env)[0]
        stats.stats.update(got.stats)
        stats.floor.update(got.floor)
    if env.is_main:
        stats.save(out_dir)
    return stats


def from_batches(norm: str, slots, batches, device) -> TargetStats:
    """Statistics from live teachers over the given loader batches (teachers without a feature cache)."""
    acc: dict[str, dict[int, _Accumulator]] = {}
    for batch in batches:
        wav, lengths = batch.wav.to(device), batch.lengths.to(device)
        for s in slots:
            out = s.teacher(wav, lengths, s.layers, ids=batch.ids, offsets=batch.offsets)
            for l in s.layers:
                f = out.features[l].float().cpu()
                m = out.mask.cpu().bool()
                acc.setdefault(s.name, {}).setdefault(l, _Accumulator()).add(f[m])
    return _finish(norm, acc)
