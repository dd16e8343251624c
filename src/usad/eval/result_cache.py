"""Probe and teacher-recovery results kept beside the feature cache, so a re-run probes only what changed.

Probing an encoder's cached features still trains hundreds of heads; for teachers and controls that were probed
before, the result cannot differ (the heads are seeded), so it is read back instead. A result is keyed by
everything it depends on: the encoder's identity and the task's content (the feature cache folder), the probe
protocol, and a digest of the source code that trains and scores the heads — editing that code or changing a
protocol field never reads a stale result. What is kept: the task result without its per-item statistics, and
the headline's bootstrap replicates (all that the intervals and paired comparisons need).
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import json
from pathlib import Path

import numpy as np

from usad.eval.protocol import ProbeProtocol, TaskResult
from usad.io import atomic_write_text

_PROBE_CODE = ("usad.eval.protocol", "usad.eval.probes", "usad.eval.ctc", "usad.eval.metrics",
               "usad.eval.layer_weights", "usad.eval.bootstrap", "usad.eval.suite")
_RECOVERY_CODE = ("usad.eval.recovery", "usad.teachers.align")


@functools.lru_cache(maxsize=None)
def code_digest(modules: tuple[str, ...]) -> str:
    """Digest of the modules' source, read once per process: the code that is running, not the files on disk
    later (an edit under a long run must not mislabel its results)."""
    h = hashlib.sha256()
    for name in modules:
        h.update(name.encode() + Path(importlib.import_module(name).__file__).read_bytes())
    return h.hexdigest()[:16]


def _key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def probe_result_path(task_dir: Path, protocol: ProbeProtocol) -> Path:
    proto = json.dumps(protocol.to_dict(), sort_keys=True)
    return task_dir / f"probe-{_key(proto, code_digest(_PROBE_CODE))}.json"


def load_task_result(task_dir: Path | None, protocol: ProbeProtocol) -> tuple[TaskResult, np.ndarray] | None:
    if task_dir is None:
        return None
    path = probe_result_path(task_dir, protocol)
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
        return TaskResult.from_dict(d["result"]), np.asarray(d["replicates"], dtype=np.float64)
    except (ValueError, KeyError, TypeError):   # a damaged entry is recomputed, never trusted
        return None


def save_task_result(task_dir: Path | None, protocol: ProbeProtocol, result: TaskResult,
                     reps: np.ndarray) -> None:
    if task_dir is None:
        return
    task_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(probe_result_path(task_dir, protocol),
                      json.dumps({"result": result.to_dict(), "replicates": np.asarray(reps).tolist()}))


def recovery_path(cache_dir: Path, encoder_identity: str, teachers: list[tuple[str, str]],
                  task_keys: list[str]) -> Path:
    """One file per (encoder, teachers, tasks): ``teachers`` as (display name, identity) pairs."""
    key = _key(encoder_identity, json.dumps(sorted(teachers)), json.dumps(sorted(task_keys)),
               code_digest(_RECOVERY_CODE))
    return cache_dir / "recovery" / f"{key}.json"


def load_recovery(path: Path) -> list[dict] | None:
    if not path.is_file():
        return None
    try:
        rows = json.loads(path.read_text())
    except ValueError:
        return None
    return rows if isinstance(rows, list) else None


def save_recovery(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(rows))
