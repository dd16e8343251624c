"""Bootstrap intervals for probe scores: over test items, and over folds and items for k-fold tasks.

Every encoder probed on a task is resampled with the *same* item indices (the generator is seeded by the task's
name and size), so replicate ``b`` of two encoders scores the same resampled test set: differences, ratios and
domain averages of replicates are paired, and their percentiles are the intervals this project reports.

A task's replicates come from its per-item predictions (``ItemScores``): decomposable metrics (accuracy, event
F1, phone error rate) keep per-item sufficient statistics and are re-reduced; mAP is recomputed per replicate.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

NUM_REPLICATES = 1000
LEVEL = 0.95


@dataclass
class ItemScores:
    """What one probe fit (one seed) predicted on one test split, reduced to what the metric needs per item.

    ``stats``: (n_items, k) sums per item that ``reduce`` turns into a score (e.g. [correct, 1] -> accuracy);
    or, for non-decomposable metrics, ``recompute(indices) -> score`` on a resampled item list."""

    n_items: int
    stats: np.ndarray | None = None
    reduce: Callable[[np.ndarray], float] | None = None
    recompute: Callable[[np.ndarray], float] | None = None

    def score(self, idx: np.ndarray | None = None) -> float:
        if self.stats is not None and self.reduce is not None:
            s = self.stats if idx is None else self.stats[idx]
            return float(self.reduce(s.sum(axis=0)))
        assert self.recompute is not None
        return float(self.recompute(np.arange(self.n_items) if idx is None else idx))


def task_rng(task: str, sizes: tuple[int, ...]) -> np.random.Generator:
    """The same generator for every encoder on a task (paired replicates)."""
    return np.random.default_rng(zlib.crc32(f"{task}|{sizes}".encode()))


def replicates(task: str, folds: list[list[ItemScores]], n: int = NUM_REPLICATES) -> np.ndarray:
    """(n,) bootstrap replicates of a task's score.

    ``folds[f][s]``: the ItemScores of seed ``s`` on test fold ``f`` (a plain train/valid/test task has one fold).
    One fold: resample its items with replacement. Several folds: resample folds with replacement, then items
    within each drawn fold; a replicate is the mean over drawn folds of the mean over seeds."""
    sizes = tuple(f[0].n_items for f in folds)
    rng = task_rng(task, sizes)
    out = np.empty(n)
    k = len(folds)
    for b in range(n):
        chosen = [0] if k == 1 else rng.integers(0, k, size=k)
        vals = []
        for f in chosen:
            idx = rng.integers(0, sizes[f], size=sizes[f])
            vals.append(np.mean([seed.score(idx) for seed in folds[f]]))
        out[b] = np.mean(vals)
    return out


def interval(reps: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of replicates."""
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(np.asarray(reps, dtype=np.float64), [a, 1.0 - a])
    return float(lo), float(hi)


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Two intervals share a point: the two scores are not distinguishable."""
    return a[0] <= b[1] and b[0] <= a[1]


def verdict(diff_reps: np.ndarray, ci_a: tuple[float, float], ci_b: tuple[float, float]) -> str:
    """'higher' / 'lower' only when the two 95% intervals do not overlap; else 'not distinguishable'."""
    if overlap(ci_a, ci_b):
        return "not distinguishable"
    return "higher" if float(np.median(diff_reps)) > 0 else "lower"
