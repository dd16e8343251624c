"""The results of probing several encoders on a suite: scores, domain averages, specialist-relative scores, the
controls, and bootstrap intervals for all of them.

Replicates (``usad.eval.bootstrap``) are paired across encoders, so a domain average's replicate is the mean of
its tasks' replicates, a ratio's replicate is the ratio of two encoders' replicates, and a difference's replicate
is their difference. A ranking claim needs non-overlapping 95% intervals; otherwise the pair is reported as
"not distinguishable".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from usad.eval.bootstrap import interval, verdict
from usad.eval.metrics import display_value
from usad.eval.protocol import TaskResult

DOMAIN_ORDER = ("speech", "sound", "music")


@dataclass
class EncoderEntry:
    name: str                 # display name (unique in a run)
    spec: str                 # e.g. teacher:whisper-base
    kind: str                 # "student" | "teacher" | "control"
    domain: str | None        # a teacher's declared domain; None for students and controls
    identity: str
    frame_rate: float
    num_layers: int
    control_of: list[str] = field(default_factory=list)   # controls: the students whose control this is


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
    replicates: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)   # encoder -> task -> (B,)
    recovery: list[dict] = field(default_factory=list)

    # ---- point estimates ----------------------------------------------------------------------------------
    def entry(self, name: str) -> EncoderEntry:
        return next(e for e in self.encoders if e.name == name)

    def headline(self, encoder: str, task: str) -> float | None:
        r = self.scores.get(encoder, {}).get(task)
        return None if r is None else r.headline.test

    def domains(self) -> list[str]:
        present = {t.domain for t in self.tasks}
        return [d for d in DOMAIN_ORDER if d in present] + sorted(present - set(DOMAIN_ORDER))

    def _tasks_of(self, domain: str) -> list[str]:
        return [t.name for t in self.tasks if domain == "all" or t.domain == domain]

    def domain_averages(self) -> dict[str, dict[str, float | None]]:
        """encoder -> domain -> mean headline test score over that domain's tasks (None if a task is missing)."""
        out: dict[str, dict[str, float | None]] = {}
        for e in self.encoders:
            out[e.name] = {}
            for d in self.domains() + ["all"]:
                vals = [self.headline(e.name, t) for t in self._tasks_of(d)]
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

    def controls_of(self, student: str) -> list[str]:
        """The controls probed beside ``student`` (its random-init twin and the spectral statistics)."""
        return [e.name for e in self.encoders if e.kind == "control" and (not e.control_of
                                                                           or student in e.control_of)]

    # ---- intervals ----------------------------------------------------------------------------------------
    def domain_replicates(self, encoder: str, domain: str) -> np.ndarray | None:
        reps = [self.replicates.get(encoder, {}).get(t) for t in self._tasks_of(domain)]
        if not reps or any(r is None for r in reps):
            return None
        return np.mean(np.stack(reps), axis=0)

    def task_ci(self, encoder: str, task: str) -> tuple[float, float] | None:
        r = self.replicates.get(encoder, {}).get(task)
        return None if r is None else interval(r)

    def domain_ci(self, encoder: str, domain: str) -> tuple[float, float] | None:
        r = self.domain_replicates(encoder, domain)
        return None if r is None else interval(r)

    def ratio_ci(self, encoder: str, domain: str) -> tuple[float, float] | None:
        ref = self.best_specialists().get(domain)
        a, b = self.domain_replicates(encoder, domain), self.domain_replicates(ref, domain) if ref else None
        if a is None or b is None or np.any(b <= 0):
            return None
        return interval(a / b)

    def compare(self, a: str, b: str, domain: str) -> dict | None:
        """a vs b on a domain (or "all"): difference, its paired 95% interval, and the verdict from the two
        encoders' own intervals ("higher" / "lower" / "not distinguishable")."""
        ra, rb = self.domain_replicates(a, domain), self.domain_replicates(b, domain)
        if ra is None or rb is None:
            return None
        avg = self.domain_averages()
        diff = ra - rb
        return {"diff": avg[a][domain] - avg[b][domain], "diff_ci95": interval(diff),
                "verdict": verdict(diff, interval(ra), interval(rb))}

    def compare_task(self, a: str, b: str, task: str) -> dict | None:
        ra, rb = self.replicates.get(a, {}).get(task), self.replicates.get(b, {}).get(task)
        if ra is None or rb is None:
            return None
        return {"diff": self.headline(a, task) - self.headline(b, task), "diff_ci95": interval(ra - rb),
                "verdict": verdict(ra - rb, interval(ra), interval(rb))}

    # ---- serialisation ------------------------------------------------------------------------------------
    def task_table(self) -> dict:
        """task -> domain, metric, n_test or folds, and every encoder's headline score with its interval (in the
        metric's own direction: PER for phoneme tasks, else the score)."""
        out = {}
        for t in self.tasks:
            m = t.metric
            row = {"domain": t.domain, "metric": m, "sizes": t.sizes, "scores": {}}
            for e in self.encoders:
                r = self.scores.get(e.name, {}).get(t.name)
                if r is None:
                    continue
                row.setdefault("folds" if r.extra.get("folds") else "n_test",
                               r.extra.get("folds") or r.extra.get("n_test"))
                ci = self.task_ci(e.name, t.name)
                vals = sorted(display_value(m, v) for v in ci) if ci else None
                row["scores"][e.name] = {"score": display_value(m, r.headline.test), "ci95": vals,
                                         "reads": r.headline.reads}
            out[t.name] = row
        return out

    def to_dict(self) -> dict:
        avg = self.domain_averages()
        return {
            "suite": self.suite,
            "protocol": self.protocol,
            "encoders": [asdict(e) for e in self.encoders],
            "tasks": [asdict(t) for t in self.tasks],
            "scores": {e: {t: r.to_dict() for t, r in by_task.items()} for e, by_task in self.scores.items()},
            "task_table": self.task_table(),
            "domain_averages": avg,
            "domain_ci95": {e.name: {d: self.domain_ci(e.name, d) for d in self.domains() + ["all"]}
                            for e in self.encoders},
            "best_specialists": self.best_specialists(),
            "relative_to_specialists": self.relative_to_specialists(),
            "relative_ci95": {e.name: {d: self.ratio_ci(e.name, d) for d in self.domains()}
                              for e in self.encoders},
            "versus_controls": {e.name: {c: {d: self.compare(e.name, c, d) for d in self.domains() + ["all"]}
                                         for c in self.controls_of(e.name)}
                                for e in self.encoders if e.kind == "student"},
            "recovery": self.recovery,
            "errors": self.errors,
            "timings_s": self.timings,
        }
