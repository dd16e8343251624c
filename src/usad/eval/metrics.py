"""Scores for probe predictions, by task type.

- multiclass (scene): top-1 accuracy.
- multilabel (scene): mean average precision over labels that occur in the reference (macro mAP).
- event, multilabel: frame-level micro F1 (threshold 0.5), or onset-based F1 (HEAR's ``event_onset_200ms_fms``).
- event, multiclass (e.g. pitch per frame): frame accuracy.

All inputs are numpy arrays; scores are floats in [0, 1]. A score that cannot be computed raises ValueError
naming the reason instead of returning NaN.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def accuracy(scores: np.ndarray, target: np.ndarray) -> float:
    """scores: (N, C) logits or probabilities; target: (N,) int class indices."""
    if len(target) == 0:
        raise ValueError("accuracy: no examples to score")
    return float((scores.argmax(axis=1) == target).mean())


def mean_average_precision(scores: np.ndarray, target: np.ndarray) -> float:
    """scores: (N, C); target: (N, C) in {0, 1}. Labels with no positive example are left out of the mean."""
    from sklearn.metrics import average_precision_score

    keep = target.sum(axis=0) > 0
    if not keep.any():
        raise ValueError("mAP: no label has a positive example in this split")
    return float(average_precision_score(target[:, keep], scores[:, keep], average="macro"))


def frame_f1(probs: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    """Micro F1 over all (frame, label) pairs. probs, target: (N_frames, C)."""
    pred = probs >= threshold
    ref = target > 0.5
    tp = float(np.logical_and(pred, ref).sum())
    fp = float(np.logical_and(pred, ~ref).sum())
    fn = float(np.logical_and(~pred, ref).sum())
    if tp + fp + fn == 0:
        return 1.0  # nothing to find and nothing predicted
    return 2 * tp / (2 * tp + fp + fn)


@dataclass
class Event:
    label: int
    onset: float  # seconds
    offset: float


def frames_to_events(active: np.ndarray, frame_rate: float) -> list[Event]:
    """active: (T, C) bool -> events, one per run of consecutive active frames of a label."""
    events: list[Event] = []
    T, C = active.shape
    for c in range(C):
        col = np.concatenate([[False], active[:, c].astype(bool), [False]])
        d = np.diff(col.astype(np.int8))
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        events += [Event(c, s / frame_rate, e / frame_rate) for s, e in zip(starts, ends)]
    return events


def onset_f1(pred_files: list[list[Event]], ref_files: list[list[Event]], collar: float = 0.2) -> float:
    """Onset-only event F1 (micro over files and labels): a predicted event matches an unmatched reference event
    of the same label whose onset is within ``collar`` seconds (greedy, closest first)."""
    tp = fp = fn = 0
    for pred, ref in zip(pred_files, ref_files):
        used = [False] * len(ref)
        for p in sorted(pred, key=lambda e: e.onset):
            best, best_d = -1, collar + 1e-9
            for j, r in enumerate(ref):
                d = abs(r.onset - p.onset)
                if not used[j] and r.label == p.label and d <= best_d:
                    best, best_d = j, d
            if best >= 0:
                used[best] = True
                tp += 1
            else:
                fp += 1
        fn += used.count(False)
    if tp + fp + fn == 0:
        return 1.0
    return 2 * tp / (2 * tp + fp + fn)


def event_onset_f1(probs: np.ndarray, target: np.ndarray, offsets: np.ndarray, frame_rate: float,
                   threshold: float = 0.5, collar: float = 0.2) -> float:
    """probs, target: (N_frames, C) frames of several files concatenated; offsets: (F + 1,) file boundaries."""
    pred_files, ref_files = [], []
    for a, b in zip(offsets[:-1], offsets[1:]):
        pred_files.append(frames_to_events(probs[a:b] >= threshold, frame_rate))
        ref_files.append(frames_to_events(target[a:b] > 0.5, frame_rate))
    return onset_f1(pred_files, ref_files, collar)


# metric names accepted in task_metadata.json "evaluation" (HEAR names where they exist)
METRICS = ("top1_acc", "mAP", "frame_f1", "event_onset_200ms_fms", "frame_acc")


def default_metric(embedding_type: str, prediction_type: str) -> str:
    if embedding_type == "event":
        return "frame_acc" if prediction_type == "multiclass" else "frame_f1"
    return "top1_acc" if prediction_type == "multiclass" else "mAP"


def pick_metric(embedding_type: str, prediction_type: str, requested: list[str] | None = None) -> str:
    """The first metric from the task's ``evaluation`` list that we implement, else the default for its type."""
    for name in requested or []:
        if name in METRICS and _compatible(name, embedding_type, prediction_type):
            return name
    return default_metric(embedding_type, prediction_type)


def _compatible(name: str, embedding_type: str, prediction_type: str) -> bool:
    if name in ("frame_f1", "event_onset_200ms_fms"):
        return embedding_type == "event" and prediction_type == "multilabel"
    if name == "frame_acc":
        return embedding_type == "event" and prediction_type == "multiclass"
    return embedding_type == "scene" and (name == "top1_acc") == (prediction_type == "multiclass")


def score(metric: str, scores: np.ndarray, target: np.ndarray, offsets: np.ndarray | None = None,
          frame_rate: float | None = None) -> float:
    """Dispatch by metric name. For multiclass metrics ``target`` is (N,) int; else (N, C) multi-hot."""
    if metric in ("top1_acc", "frame_acc"):
        return accuracy(scores, target)
    if metric == "mAP":
        return mean_average_precision(scores, target)
    probs = 1.0 / (1.0 + np.exp(-scores))
    if metric == "frame_f1":
        return frame_f1(probs, target)
    if metric == "event_onset_200ms_fms":
        if offsets is None or frame_rate is None:
            raise ValueError("event_onset_200ms_fms needs file offsets and the frame rate")
        return event_onset_f1(probs, target, offsets, frame_rate)
    raise ValueError(f"unknown metric {metric!r}; known: {METRICS}")
