"""A probe task as planned by a task builder, and how it is written in HEAR format with its statistics."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from usad.io import atomic_write_text

from .clip import Clip
from .hear import KFOLD_MODE, Label, write_task_files
from .manifest import jsonl
from .splits import SPLITS, fold_name
from .store import ClipRenderError, ensure_clip

SCENE_METRICS = ["top1_acc", "mAP", "d_prime", "aucroc"]
EVENT_METRICS = ["event_onset_200ms_fms", "segment_1s_er"]
SEQUENCE_METRICS = ["per"]
VERSION = "usad-2"
MIN_WINDOW_S = 3.0   # an encoder with fixed 3 s windows (BirdNET) pays at least this much per clip


@dataclass
class ProbeEntry:
    clip: Clip
    split: str
    labels: list[Label]


@dataclass
class ProbeTaskPlan:
    """A probe task as planned by a task builder, before it is written (``usad.eval`` reads the written task as a
    ``ProbeTask``). ``nfolds`` > 0 makes it a k-fold task (splits ``fold00``..; HEAR ``new_split_kfold``);
    ``embedding_type`` is scene, event (labels with start/end in ms) or sequence (labels = tokens in order)."""

    name: str
    domain: str
    description: str
    split_rule: str
    embedding_type: str = "scene"
    prediction_type: str = "multiclass"
    sample_duration: float | None = None
    entries: list[ProbeEntry] = field(default_factory=list)
    nfolds: int = 0
    extra_metadata: dict[str, Any] = field(default_factory=dict)
    also_unheard: tuple[str, ...] = ()   # splits besides test whose sources the training corpus leaves out too

    @property
    def split_names(self) -> tuple[str, ...]:
        return tuple(fold_name(i) for i in range(self.nfolds)) if self.nfolds else SPLITS

    @property
    def split_mode(self) -> str:
        return KFOLD_MODE if self.nfolds else "trainvaltest"

    @property
    def metrics(self) -> list[str]:
        return {"scene": SCENE_METRICS, "event": EVENT_METRICS, "sequence": SEQUENCE_METRICS}[self.embedding_type]

    def test_entries(self) -> list[ProbeEntry]:
        """Entries scored as test items: the test split, or every entry of a k-fold task (each fold is tested)."""
        return list(self.entries) if self.nfolds else [e for e in self.entries if e.split == "test"]

    def unheard_entries(self) -> list[ProbeEntry]:
        """Entries whose sources the training corpus must not contain: the test items, and the splits named in
        ``also_unheard`` (real recordings a task chooses on, kept as unheard as its test recordings)."""
        return self.test_entries() + [e for e in self.entries if e.split in self.also_unheard]

    def vocabulary(self) -> list[str]:
        return sorted({lab["label"] if isinstance(lab, dict) else lab for e in self.entries for lab in e.labels})


def rotations(task: ProbeTaskPlan) -> list[tuple[set[str], str]]:
    """(train splits, test split) of each evaluation: one for train/valid/test, k for k-fold (fold i test,
    fold i+1 valid, the rest train)."""
    if not task.nfolds:
        return [({"train"}, "test")]
    names = task.split_names
    k = len(names)
    return [({names[j] for j in range(k) if j not in (i, (i + 1) % k)}, names[i]) for i in range(k)]


def task_stats(task: ProbeTaskPlan, durations: dict[str, float]) -> dict[str, Any]:
    """Sizes, classes, synthetic fractions and chance levels, computed from the planned entries."""
    stats: dict[str, Any] = {"num_classes": len(task.vocabulary()), "classes": task.vocabulary(),
                             "split_mode": task.split_mode}
    if task.nfolds:
        stats["nfolds"] = task.nfolds
    for s in task.split_names:
        ents = [e for e in task.entries if e.split == s]
        stats[f"{s}_clips"] = len(ents)
        stats[f"{s}_seconds"] = round(sum(durations.get(e.clip.id, 0.0) for e in ents), 2)
        stats[f"{s}_synthetic_fraction"] = round(sum(e.clip.synthetic for e in ents) / max(1, len(ents)), 4)
    stats["total_clips"] = len(task.entries)
    stats["total_seconds"] = round(sum(durations.get(e.clip.id, 0.0) for e in task.entries), 2)
    stats["total_seconds_3s_windows"] = round(sum(max(MIN_WINDOW_S, durations.get(e.clip.id, 0.0))
                                                  for e in task.entries), 2)
    stats["test_items"] = len(task.test_entries())
    if task.embedding_type == "scene":
        stats.update(_scene_chance(task))
    elif task.embedding_type == "event":
        stats.update(_event_chance(task.test_entries(), durations))
    else:
        stats.update(_sequence_stats(task, durations))
    return stats


def _scene_chance(task: ProbeTaskPlan) -> dict[str, Any]:
    """Uniform 1/K, and the majority-class top-1 accuracy (the most frequent training label scored on test;
    pooled over the rotations of a k-fold task)."""
    hits = total = 0
    for train_splits, test_split in rotations(task):
        counts = Counter(lab for e in task.entries if e.split in train_splits for lab in e.labels)
        majority = min(counts, key=lambda lab: (-counts[lab], lab)) if counts else None
        test = [e for e in task.entries if e.split == test_split]
        hits += sum(majority in e.labels for e in test)
        total += len(test)
    return {"chance_top1_uniform": round(1.0 / max(1, len(task.vocabulary())), 4),
            "chance_top1_majority": round(hits / max(1, total), 4)}


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


def _sequence_stats(task: ProbeTaskPlan, durations: dict[str, float]) -> dict[str, Any]:
    """Token statistics and a chance PER: each test sequence predicted as the most frequent training token
    repeated to the reference's length (edit distance = tokens that differ from it), pooled over tokens."""
    train = Counter(t for e in task.entries if e.split == "train" for t in e.labels)
    majority = min(train, key=lambda t: (-train[t], t)) if train else None
    test = task.test_entries()
    n_ref = sum(len(e.labels) for e in test)
    errors = sum(sum(t != majority for t in e.labels) for e in test)
    seconds = sum(durations.get(e.clip.id, 0.0) for e in task.entries)
    return {"chance_per_majority_token": round(errors / max(1, n_ref), 4), "majority_token": majority,
            "tokens_per_item": round(sum(len(e.labels) for e in task.entries) / max(1, len(task.entries)), 2),
            "tokens_per_second": round(sum(len(e.labels) for e in task.entries) / max(1e-9, seconds), 2),
            "test_tokens_unseen_in_train": sorted({t for e in test for t in e.labels} - set(train))}


def _clear_older_layout(tdir: Path) -> None:
    """Audio written by another layout version (other crops, clip lengths or splits under the same clip ids)
    must not be reused: drop it, the build renders it again."""
    meta = tdir / "task_metadata.json"
    if not meta.exists():
        return
    try:
        version = json.loads(meta.read_text()).get("version")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        version = None
    if version != VERSION:
        shutil.rmtree(tdir / "16000", ignore_errors=True)


def write_probe_task(task: ProbeTaskPlan, suite_dir: Path, on_clip: Callable[[bool], None],
                     messages: list[str] | None = None) -> dict[str, Any]:
    """Write audio (skipping files that exist), split JSONs, metadata and a per-clip manifest. Returns stats.

    Clips whose source cannot be read are dropped from the task (and reported in ``messages``)."""
    tdir = suite_dir / task.name
    _clear_older_layout(tdir)
    durations: dict[str, float] = {}
    splits: dict[str, dict[str, list[Label]]] = {s: {} for s in task.split_names}
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
        "prediction_type": task.prediction_type, "split_mode": task.split_mode,
        "sample_duration": task.sample_duration, "evaluation": task.metrics, "default_mode": "full",
        "mode": "full", "sample_rate": 16000, "domain": task.domain, "description": task.description,
        "split_rule": task.split_rule,
        "synthetic": {s: stats[f"{s}_synthetic_fraction"] for s in task.split_names},
        **task.extra_metadata,
    }
    if task.nfolds:
        metadata["nfolds"] = task.nfolds
    if task.embedding_type == "event":
        metadata["evaluation_params"] = {"event_postprocessing_grid": {"median_filter_ms": [250],
                                                                       "min_duration": [125, 250]}}
    write_task_files(tdir, metadata, task.vocabulary(), splits)
    atomic_write_text(tdir / "manifest.jsonl", jsonl(manifest))
    return stats
