"""What every section of the performance check shares: time guards, timing, memory, fidelity, skip records."""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import torch


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def skipped(reason: str, **what) -> dict:
    """An item that did not run, with why (the JSON and Markdown say "skipped: reason")."""
    return {**what, "skipped": reason}


@dataclass
class Guard:
    """A section's time budget inside the run's overall deadline (``time.monotonic`` seconds)."""

    name: str
    budget_s: float
    deadline: float                      # the whole run's deadline
    start: float = field(default_factory=time.monotonic)

    @property
    def end(self) -> float:
        return min(self.start + self.budget_s, self.deadline)

    def left(self) -> float:
        return self.end - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def allows(self, needed_s: float) -> bool:
        return self.left() >= needed_s

    def reason(self, needed_s: float) -> str:
        return (f"time guard: {max(0.0, self.left()):.0f} s left of section {self.name!r}'s "
                f"{self.budget_s:.0f} s budget (or the run's deadline), this needs ~{needed_s:.0f} s")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device, warmup: int = 1, min_time: float = 0.3,
              min_iters: int = 2, max_iters: int = 50) -> float:
    """Seconds per call: ``warmup`` untimed calls, then calls until ``min_time`` and ``min_iters`` are reached."""
    for _ in range(warmup):
        fn()
    sync(device)
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        if n >= max_iters:
            break
        if n >= min_iters:
            sync(device)
            if time.perf_counter() - t0 >= min_time:
                break
    sync(device)
    return (time.perf_counter() - t0) / n


def interleaved(calls: dict[str, Callable[[], object]], device: torch.device, rounds: int, warmup: int = 1,
                on_round: Callable[[int], None] | None = None,
                keep_going: Callable[[float], bool] | None = None) -> dict[str, dict]:
    """One timed pass of every call per round (so other jobs' load hits all alike); median seconds per call, all
    times, and the load average after each round. ``keep_going(last_round_s)`` may stop after a timed round."""
    times: dict[str, list[float]] = {k: [] for k in calls}
    loads = []
    for r in range(warmup + rounds):
        t_round = time.perf_counter()
        for name, fn in calls.items():
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            if r >= warmup:
                times[name].append(time.perf_counter() - t0)
        if r >= warmup:
            loads.append(load_average()[0])
        if on_round:
            on_round(r)
        if r >= warmup and keep_going is not None and not keep_going(time.perf_counter() - t_round):
            break
    return {k: {"median_s": statistics.median(v), "times_s": [round(x, 5) for x in v], "load_1min": loads}
            for k, v in times.items()}


class PeakMemory:
    """``with PeakMemory(device) as m: ...``; then ``m.gb`` (None on CPU)."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.gb = device, None

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.gb = round(torch.cuda.max_memory_allocated(self.device) / 2 ** 30, 3)
        return False


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def free_memory(device: torch.device) -> None:
    import gc

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def layer_fidelity(reference: list[torch.Tensor], other: list[torch.Tensor],
                   mask: torch.Tensor | None = None) -> list[dict]:
    """Per layer: mean and worst frame cosine, max relative error (max |a - b| / max |a|) and relative L2 error of
    ``other`` against ``reference`` (each (B, T, D), compared on valid frames)."""
    rows = []
    for layer, (a, b) in enumerate(zip(reference, other)):
        a, b = a.float(), b.float()
        if mask is not None:
            m = mask[:, : a.shape[1]].to(a.device)
            a, b = a[m], b[m]
        a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
        cos = torch.nn.functional.cosine_similarity(a, b, dim=-1)
        rows.append({"layer": layer, "cos_mean": float(cos.mean()), "cos_min": float(cos.min()),
                     "max_rel_err": float((a - b).abs().max() / a.abs().max().clamp_min(1e-30)),
                     "rel_l2": float((a - b).norm() / a.norm().clamp_min(1e-30))})
    return rows


def fidelity_summary(rows: list[dict], threshold: float = 0.999) -> dict:
    """The worst layer, and whether every layer's mean cosine reaches ``threshold``."""
    worst = min(rows, key=lambda r: r["cos_mean"])
    return {"min_layer_cos": worst["cos_mean"], "worst_layer": worst["layer"],
            "min_frame_cos": min(r["cos_min"] for r in rows), "max_rel_err": max(r["max_rel_err"] for r in rows),
            "holds": all(r["cos_mean"] >= threshold for r in rows), "threshold": threshold}


def synthetic_audio(batch: int, seconds: float, seed: int = 0, device: str | torch.device = "cpu",
                    distinct: int = 8) -> torch.Tensor:
    """(batch, seconds * 16 kHz) of speech-like synthetic audio: a gliding harmonic tone with a syllable-rate
    envelope plus a little noise. ``distinct`` different clips are made and repeated to fill the batch (speed does
    not depend on the content; making 512 ten-second clips one by one would cost seconds of a GPU lease)."""
    clips = _clips(min(batch, distinct), round(seconds * 16000), seed)
    reps = -(-batch // clips.shape[0])
    return clips.repeat(reps, 1)[:batch].to(device)


@lru_cache(maxsize=8)
def _clips(count: int, n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(n, dtype=torch.float64) / 16000
    out = torch.empty(count, n)
    for b in range(count):
        f0 = 100 + 150 * float(torch.rand(1, generator=gen))
        glide = f0 * (1 + 0.1 * torch.sin(2 * torch.pi * 0.5 * t))
        phase = 2 * torch.pi * torch.cumsum(glide, 0) / 16000
        tone = sum(torch.sin(k * phase) / k for k in range(1, 8))
        env = 0.5 * (1 + torch.sin(2 * torch.pi * (3 + float(torch.rand(1, generator=gen))) * t)) ** 2
        noise = 0.02 * torch.randn(n, generator=gen, dtype=torch.float64)
        out[b] = (0.1 * tone * env + noise).float()
    return out
