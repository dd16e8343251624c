"""Progress reporting: one console line per log step and TensorBoard scalars (rank 0 only)."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field


def format_eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class ProgressLog:
    """Console line: step, loss (total and per teacher, each beside its constant-prediction floor), LR, seconds of
    audio per second, MFU, ETA. A teacher term at or above its floor means the student has learned nothing about
    that teacher yet: it does no better than predicting the teacher's mean frame."""

    def __init__(self, log_dir: str | None, enabled: bool = True, stream=None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self.writer = None
        if enabled and log_dir:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is in the [train] extra
                print("tensorboard not installed: pip install 'usad[train]' for TensorBoard logs",
                      file=self.stream)
            else:
                self.writer = SummaryWriter(log_dir)

    def log(self, step: int, max_steps: int, loss: float, per_teacher: dict[str, float], lr: float,
            audio_per_s: float, mfu: float, eta_s: float, extra: dict | None = None,
            floors: dict[str, float] | None = None) -> str:
        floors = floors or {}
        teachers = " ".join(f"{k} {v:.3f}" + (f" (floor {floors[k]:.3f})" if k in floors else "")
                            for k, v in per_teacher.items())
        line = (f"step {step}/{max_steps} | loss {loss:.4f} | {teachers} | lr {lr:.2e} | "
                f"{audio_per_s:.1f} s audio/s | MFU {100 * mfu:.2f}% | ETA {format_eta(eta_s)}")
        if not self.enabled:
            return line
        print(line, file=self.stream, flush=True)
        if self.writer is not None:
            self.writer.add_scalar("loss/total", loss, step)
            for k, v in per_teacher.items():
                self.writer.add_scalar(f"loss/{k}", v, step)
                if k in floors:
                    self.writer.add_scalar(f"floor/{k}", floors[k], step)
                    self.writer.add_scalar(f"below_floor/{k}", floors[k] - v, step)
            self.writer.add_scalar("lr", lr, step)
            self.writer.add_scalar("perf/audio_seconds_per_second", audio_per_s, step)
            self.writer.add_scalar("perf/mfu", mfu, step)
            for k, v in (extra or {}).items():
                self.writer.add_scalar(k, v, step)
        return line

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()


@dataclass
class Window:
    """What the steps since the last log line add up to: seconds of audio (all ranks), FLOPs, summed step losses
    (total and per teacher) and how many steps."""

    audio: float = 0.0
    flops: float = 0.0
    loss: float = 0.0
    teach: dict[str, float] = field(default_factory=dict)
    n: int = 0
    t0: float = field(default_factory=time.monotonic)

    def add_step(self, loss: float, teach: dict[str, float]) -> None:
        self.loss += loss
        self.n += 1
        for k, v in teach.items():
            self.teach[k] = self.teach.get(k, 0.0) + v


class Clock:
    """Wall-clock that survives resume: ``elapsed`` adds the time spent before the checkpoint."""

    def __init__(self, before: float = 0.0) -> None:
        self.before = before
        self.start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return self.before + time.monotonic() - self.start
