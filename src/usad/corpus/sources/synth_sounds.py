"""Procedural sound events (all marked synthetic): each generator maps (rng, seconds) -> wav (S,) float32 16 kHz.

Class names match the real sound-effect classes where they overlap (beep, impact, explosion, engine), so the
synthetic clips extend those classes; siren, rain and noise_burst exist only as synthetic classes.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.signal import lfilter

from ..clip import SAMPLE_RATE

SR = SAMPLE_RATE


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


def _lowpass(x: np.ndarray, alpha: float) -> np.ndarray:
    """One-pole low-pass; alpha in (0, 1), larger = darker."""
    return lfilter([1 - alpha], [1, -alpha], x)


def _norm(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    peak = float(np.abs(x).max()) or 1.0
    return (x / peak * rng.uniform(0.3, 0.9)).astype(np.float32)


def noise_burst(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = _t(seconds)
    x = np.zeros_like(t)
    for _ in range(rng.integers(1, 4)):
        a = rng.uniform(0, seconds * 0.7)
        d = rng.uniform(0.05, 0.5)
        m = (t >= a) & (t < a + d)
        color = rng.uniform(0.0, 0.95)
        x[m] += _lowpass(rng.standard_normal(m.sum()), color) * np.hanning(m.sum())
    return _norm(x, rng)


def beep(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = _t(seconds)
    f = rng.uniform(400, 3000)
    n = int(rng.integers(1, 5))
    on = rng.uniform(0.05, 0.25)
    period = max(on * 1.5, seconds / (n + 1))
    gate = ((t % period) < on) & (t < n * period)
    x = np.sin(2 * np.pi * f * t) * gate
    if rng.random() < 0.5:
        x += 0.3 * np.sin(2 * np.pi * 2 * f * t) * gate
    return _norm(_lowpass(x, 0.2), rng)


def siren(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = _t(seconds)
    lo, hi = rng.uniform(500, 900), rng.uniform(1000, 1800)
    rate = rng.uniform(0.3, 3.0)
    if rng.random() < 0.5:   # wail: smooth sweep
        f = lo + (hi - lo) * 0.5 * (1 + np.sin(2 * np.pi * rate * t))
    else:                    # hi-lo: two alternating tones
        f = np.where((t * rate) % 1 < 0.5, lo, hi)
    phase = 2 * np.pi * np.cumsum(f) / SR
    x = np.sign(np.sin(phase)) * 0.3 + np.sin(phase)
    return _norm(_lowpass(x, 0.5), rng)


def impact(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = _t(seconds)
    x = np.zeros_like(t)
    for _ in range(rng.integers(1, 4)):
        a = rng.uniform(0, seconds * 0.6)
        env = np.where(t >= a, np.exp(-(t - a) * rng.uniform(15, 60)), 0.0)
        f = rng.uniform(80, 600)
        body = np.sin(2 * np.pi * f * (t - a)) + 0.5 * np.sin(2 * np.pi * f * 2.7 * (t - a))
        x += env * (body + rng.uniform(0.2, 1.0) * rng.standard_normal(len(t)))
    return _norm(x, rng)


def explosion(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = _t(seconds)
    a = rng.uniform(0, seconds * 0.3)
    env = np.where(t >= a, np.exp(-(t - a) * rng.uniform(1.5, 5.0)), 0.0)
    x = _lowpass(rng.standard_normal(len(t)), rng.uniform(0.9, 0.98)) * env
    return _norm(x, rng)


def rain(rng: np.random.Generator, seconds: float) -> np.ndarray:
    n = int(seconds * SR)
    bed = _lowpass(rng.standard_normal(n), rng.uniform(0.3, 0.8)) * rng.uniform(0.05, 0.3)
    drops = np.zeros(n)
    count = int(rng.uniform(20, 200) * seconds)
    idx = rng.integers(0, n, size=count)
    drops[idx] = rng.uniform(0.2, 1.0, size=count) * rng.choice([-1, 1], size=count)
    drop_kernel = np.exp(-np.arange(160) / rng.uniform(10, 40)) * np.sin(np.arange(160) * rng.uniform(0.3, 1.2))
    x = bed + np.convolve(drops, drop_kernel)[:n]
    return _norm(x, rng)


def engine(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = _t(seconds)
    f0 = rng.uniform(25, 90) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) + 0.3 * _lowpass(rng.standard_normal(len(t)), 0.9)
    return _norm(x, rng)


GENERATORS: dict[str, Callable[[np.random.Generator, float], np.ndarray]] = {
    "noise_burst": noise_burst, "beep": beep, "siren": siren, "impact": impact,
    "explosion": explosion, "rain": rain, "engine": engine,
}
