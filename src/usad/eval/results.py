"""The results of probing several encoders on a suite, with domain averages and specialist-relative scores."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from usad.eval.protocol import TaskResult

DOMAIN_ORDER = ("speech", "sound", "music")


@dataclass
class EncoderEntry:
    name: str                 # display name (unique in a run)
    spec: str                 # e.g. teacher:whisper-base
    kind: str                 # "student" | "teacher"
    domain: str | None        # a teacher's declared domain; None for students
    identity: str
    frame_rate: float
    num_layers: int


@dataclass
class TaskEntry:
    name: str
    domain: str
    embedding_type: str
    prediction_type: str
    metric: str
    sizes: dict[str, int] = field(default_factory=dict)   # files per split


@dataclass
class Results:
    suite: str
    encoders: list[EncoderEntry]
    tasks: list[TaskEntry]
    scores: dict[str, dict[str, TaskResult]]             # encoder -> task -> result
    protocol: dict
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def headline(self, encoder: str, task: str) -> float | None:
        r = self.scores.get(encoder, {}).get(task)
        return None if r is None else r.headline.test

    def domains(self) -> list[str]:
        present = {t.domain for t in self.tasks}
        return [d for d in DOMAIN_ORDER if d in present] + sorted(present - set(DOMAIN_ORDER))

    def domain_averages(self) -> dict[str, dict[str, float | None]]:
        """encoder -> domain -> mean headline test score over that domain's tasks (None if a task is missing)."""
        out: dict[str, dict[str, float | None]] = {}
        for e in self.encoders:
            out[e.name] = {}
            for d in self.domains() + ["all"]:
                vals = [self.headline(e.name, t.name) for t in self.tasks if d == "all" or t.domain == d]
                out[e.name][d] = None if not vals or any(v is None for v in vals) else float(np.mean(vals))
        return out

    def best_specialists(self) -> dict[str, str | None]:
        """domain -> the teacher of that declared domain with the best domain average (None if none ran)."""
        avg = self.domain_averages()
        best: dict[str, str | None] = {}
        for d in self.domains():
            cands = [e.name for e in self.encoders if e.kind == "teacher" and e.domain == d
                     and avg[e.name][d] is not None]
            best[d] = max(cands, key=lambda n: avg[n][d]) if cands else None
        return best

    def relative_to_specialists(self) -> dict[str, dict[str, float | None]]:
        """encoder -> domain -> its domain average / the best specialist teacher's domain average."""
        avg, best = self.domain_averages(), self.best_specialists()
        out: dict[str, dict[str, float | None]] = {}
        for e in self.encoders:
            out[e.name] = {}
            for d in self.domains():
                b = best[d]
                ref = avg[b][d] if b else None
                mine = avg[e.name][d]
                out[e.name][d] = None if (ref in (None, 0) or mine is None) else float(mine / ref)
        return out

    def to_dict(self) -> dict:
        return {
            "suite": self.suite,
            "protocol": self.protocol,
            "encoders": [asdict(e) for e in self.encoders],
            "tasks": [asdict(t) for t in self.tasks],
            "scores": {e: {t: asdict(r) for t, r in by_task.items()} for e, by_task in self.scores.items()},
            "domain_averages": self.domain_averages(),
            "best_specialists": self.best_specialists(),
            "relative_to_specialists": self.relative_to_specialists(),
            "errors": self.errors,
            "timings_s": self.timings,
        }
