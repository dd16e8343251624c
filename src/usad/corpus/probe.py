"""A probe task as planned by a task builder, and how it is written in HEAR format with its statistics."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .clip import Clip
from .hear import Label, atomic_write_text, write_task_files
from .manifest import jsonl
from .splits import SPLITS
from .store import ClipRenderError, ensure_clip

SCENE_METRICS = ["top1_acc", "mAP", "d_prime", "aucroc"]
EVENT_METRICS = ["event_onset_200ms_fms", "segment_1s_er"]
VERSION = "usad-1"


@dataclass
class ProbeEntry:
    clip: Clip
    split: str
    labels: list[Label]


@dataclass
class ProbeTask:
    name: str
    domain: str
    description: str
    split_rule: str
    embedding_type: str = "scene"
    prediction_type: str = "multiclass"
    sample_duration: float | None = None
    entries: list[ProbeEntry] = field(default_factory=list)

    @property
    def metrics(self) -> list[str]:
        return SCENE_METRICS if self.embedding_type == "scene" else EVENT_METRICS

    def vocabulary(self) -> list[str]:
        return sorted({lab["label"] if isinstance(lab, dict) else lab for e in self.entries for lab in e.labels})


def task_stats(task: ProbeTask, durations: dict[str, float]) -> dict[str, Any]:
    """Sizes, classes, synthetic fractions and chance levels, computed from the planned entries."""
    stats: dict[str, Any] = {"num_classes": len(task.vocabulary()), "classes": task.vocabulary()}
    for s in SPLITS:
        ents = [e for e in task.entries if e.split == s]
        stats[f"{s}_clips"] = len(ents)
        stats[f"{s}_seconds"] = round(sum(durations.get(e.clip.id, 0.0) for e in ents), 2)
        stats[f"{s}_synthetic_fraction"] = round(sum(e.clip.synthetic for e in ents) / max(1, len(ents)), 4)
    train = [e for e in task.entries if e.split == "train"]
    test = [e for e in task.entries if e.split == "test"]
    if task.embedding_type == "scene":
        counts = Counter(lab for e in train for lab in e.labels)
        majority = counts.most_common(1)[0][0] if counts else None
        stats["chance_top1_uniform"] = round(1.0 / max(1, stats["num_classes"]), 4)
        stats["chance_top1_majority"] = round(sum(majority in e.labels for e in test) / max(1, len(test)), 4)
    else:
        stats.update(_event_chance(test, durations))
    return stats


def _event_chance(test: list[ProbeEntry], durations: dict[str, float]) -> dict[str, Any]:
    """Chance for event tasks: the segment-level (1 s) F1 of predicting every label active everywhere."""
    active: Counter = Counter()
    total = 0
    labels = {lab["label"] for e in test for lab in e.labels}
    for e in test:
        n = max(1, int(durations.get(e.clip.id, 0.0) + 0.999))
        total += n
        for lab in labels:
            segs = {k for ev in e.labels if ev["label"] == lab
                    for k in range(int(ev["start"] // 1000), int((ev["end"] - 1e-6) // 1000) + 1)}
            active[lab] += len([k for k in segs if k < n])
    rates = {lab: active[lab] / max(1, total) for lab in labels}
    f1 = [2 * r / (1 + r) for r in rates.values()] or [0.0]
    return {"chance_segment_1s_f1_all_active": round(sum(f1) / len(f1), 4),
            "mean_label_activity_1s": round(sum(rates.values()) / max(1, len(rates)), 4)}


def write_probe_task(task: ProbeTask, suite_dir: Path, on_clip: Callable[[bool], None],
                     messages: list[str] | None = None) -> dict[str, Any]:
    """Write audio (skipping files that exist), split JSONs, metadata and a per-clip manifest. Returns stats.

    Clips whose source cannot be read are dropped from the task (and reported in ``messages``)."""
    tdir = suite_dir / task.name
    durations: dict[str, float] = {}
    splits: dict[str, dict[str, list[Label]]] = {s: {} for s in SPLITS}
    manifest = []
    kept = []
    for e in sorted(task.entries, key=lambda e: (e.split, e.clip.id)):
        fname = f"{e.clip.id}.wav"
        try:
            dur, rendered = ensure_clip(e.clip, tdir / "16000" / e.split / fname)
        except ClipRenderError as err:
            on_clip(False)
            if messages is not None:
                messages.append(f"{task.name}: {err}")
            continue
        on_clip(rendered)
        kept.append(e)
        durations[e.clip.id] = dur
        splits[e.split][fname] = e.labels
        manifest.append({"id": e.clip.id, "path": f"16000/{e.split}/{fname}", "duration": round(dur, 4),
                         "domain": task.domain, "offset": 0.0, "source": e.clip.source,
                         "synthetic": e.clip.synthetic, "split": e.split, "group": e.clip.group,
                         "labels": e.labels, **e.clip.labels})
    task.entries = kept
    stats = task_stats(task, durations)
    metadata = {
        "task_name": task.name, "version": VERSION, "embedding_type": task.embedding_type,
        "prediction_type": task.prediction_type, "split_mode": "trainvaltest",
        "sample_duration": task.sample_duration, "evaluation": task.metrics, "default_mode": "full",
        "mode": "full", "sample_rate": 16000, "domain": task.domain, "description": task.description,
        "split_rule": task.split_rule,
        "synthetic": {s: stats[f"{s}_synthetic_fraction"] for s in SPLITS},
    }
    if task.embedding_type == "event":
        metadata["evaluation_params"] = {"event_postprocessing_grid": {"median_filter_ms": [250],
                                                                       "min_duration": [125, 250]}}
    write_task_files(tdir, metadata, task.vocabulary(), splits)
    atomic_write_text(tdir / "manifest.jsonl", jsonl(manifest))
    return stats
