"""Scores for probe predictions, by task type.

- multiclass (scene): top-1 accuracy.
- multilabel (scene): mean average precision over labels that occur in the reference (macro mAP).
- event, multilabel: frame-level micro F1 (threshold 0.5), or onset-based F1 (HEAR's ``event_onset_200ms_fms``).
- event, multiclass (e.g. pitch per frame): frame accuracy.
- sequence (e.g. phonemes per utterance): phone error rate (edit distance / reference length), reported as PER;
  every score the evaluation averages, ranks or bootstraps is "higher is better", so PER tasks carry 1 - PER
  internally (``per_score``) and reports print PER.

``item_scores`` gives the same score as ``score`` from per-item statistics (``usad.eval.bootstrap.ItemScores``),
so a test set can be resampled without re-running a probe.

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


def frame_counts(probs: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int]:
    """(tp, fp, fn) over (frame, label) pairs. probs, target: (N_frames, C)."""
    pred = probs >= threshold
    ref = target > 0.5
    return (int(np.logical_and(pred, ref).sum()), int(np.logical_and(pred, ~ref).sum()),
            int(np.logical_and(~pred, ref).sum()))


def frame_f1(probs: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    """Micro F1 over all (frame, label) pairs. probs, target: (N_frames, C)."""
    return _f1(*frame_counts(probs, target, threshold))


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


def onset_counts(pred: list[Event], ref: list[Event], collar: float = 0.2) -> tuple[int, int, int]:
    """(tp, fp, fn) of one file: a predicted event matches an unmatched reference event of the same label whose
    onset is within ``collar`` seconds (greedy, closest first)."""
    tp = fp = 0
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
    return tp, fp, used.count(False)


def _f1(tp: float, fp: float, fn: float) -> float:
    if tp + fp + fn == 0:
        return 1.0  # nothing to find and nothing predicted
    return 2 * tp / (2 * tp + fp + fn)


def onset_f1(pred_files: list[list[Event]], ref_files: list[list[Event]], collar: float = 0.2) -> float:
    """Onset-only event F1, micro over files and labels (see ``onset_counts``)."""
    counts = np.array([onset_counts(p, r, collar) for p, r in zip(pred_files, ref_files)]).reshape(-1, 3)
    return _f1(*counts.sum(axis=0))


def _file_events(probs: np.ndarray, target: np.ndarray, offsets: np.ndarray, frame_rate: float,
                 threshold: float):
    for a, b in zip(offsets[:-1], offsets[1:]):
        yield (frames_to_events(probs[a:b] >= threshold, frame_rate),
               frames_to_events(target[a:b] > 0.5, frame_rate))


def event_onset_f1(probs: np.ndarray, target: np.ndarray, offsets: np.ndarray, frame_rate: float,
                   threshold: float = 0.5, collar: float = 0.2) -> float:
    """probs, target: (N_frames, C) frames of several files concatenated; offsets: (F + 1,) file boundaries."""
    pairs = list(_file_events(probs, target, offsets, frame_rate, threshold))
    return onset_f1([p for p, _ in pairs], [r for _, r in pairs], collar)


def edit_distance(hyp: list[int], ref: list[int]) -> int:
    """Levenshtein distance between two token sequences (rapidfuzz)."""
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(hyp, ref))


def phone_error_rate(hyps: list[list[int]], refs: list[list[int]]) -> float:
    """Sum of edit distances over the sum of reference lengths (micro over utterances)."""
    edits = sum(edit_distance(h, r) for h, r in zip(hyps, refs))
    total = sum(len(r) for r in refs)
    if total == 0:
        raise ValueError("PER: the references contain no token")
    return edits / total


# metric names accepted in task_metadata.json "evaluation" (HEAR names where they exist)
METRICS = ("top1_acc", "mAP", "frame_f1", "event_onset_200ms_fms", "frame_acc", "per")
LOWER_IS_BETTER = {"per"}   # reported as is; scored internally as 1 - value


def display_value(metric: str, score: float) -> float:
    """The number a report prints for an internal (higher-is-better) score: PER for ``per``, else the score."""
    return 1.0 - score if metric in LOWER_IS_BETTER else score


def default_metric(embedding_type: str, prediction_type: str) -> str:
    if embedding_type == "sequence":
        return "per"
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
    if embedding_type == "sequence" or name == "per":
        return embedding_type == "sequence" and name == "per"
    if name in ("frame_f1", "event_onset_200ms_fms"):
        return embedding_type == "event" and prediction_type == "multilabel"
    if name == "frame_acc":
        return embedding_type == "event" and prediction_type == "multiclass"
    return embedding_type == "scene" and (name == "top1_acc") == (prediction_type == "multiclass")


def score(metric: str, scores: np.ndarray, target: np.ndarray, offsets: np.ndarray | None = None,
          frame_rate: float | None = None) -> float:
    """Dispatch by metric name (higher is better). For multiclass metrics ``target`` is (N,) int; else (N, C)
    multi-hot. Sequence tasks (``per``) score decoded sequences: use ``sequence_item_scores``."""
    return item_scores(metric, scores, target, offsets, frame_rate).score()


def _frame_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(N_frames, k) -> (F, k) sums per file."""
    cs = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    return cs[offsets[1:]] - cs[offsets[:-1]]


def item_scores(metric: str, scores: np.ndarray, target: np.ndarray, offsets: np.ndarray | None = None,
                frame_rate: float | None = None):
    """Per-item statistics of a prediction (items = clips for scene tasks, files for frame-level tasks), from which
    ``.score()`` gives the metric and ``.score(indices)`` the metric of a resampled test set."""
    from usad.eval.bootstrap import ItemScores

    if metric == "top1_acc":
        if len(target) == 0:
            raise ValueError("accuracy: no examples to score")
        correct = (scores.argmax(axis=1) == target).astype(np.float64)
        return ItemScores(len(target), np.stack([correct, np.ones_like(correct)], 1), lambda s: s[0] / s[1])
    if metric == "mAP":
        mean_average_precision(scores, target)   # raises with a reason when undefined on the whole split

        def recompute(idx: np.ndarray) -> float:
            t = target[idx]
            keep = t.sum(axis=0) > 0
            if not keep.any():
                return 0.0
            return mean_average_precision(scores[idx], t)
        return ItemScores(len(target), recompute=recompute)
    if offsets is None and metric in ("frame_acc", "frame_f1", "event_onset_200ms_fms"):
        offsets = np.array([0, len(target)])
    if metric == "frame_acc":
        if len(target) == 0:
            raise ValueError("accuracy: no examples to score")
        correct = (scores.argmax(axis=1) == target).astype(np.float64)[:, None]
        per_file = _frame_sums(np.concatenate([correct, np.ones_like(correct)], 1), offsets)
        return ItemScores(len(per_file), per_file, lambda s: s[0] / max(s[1], 1.0))
    probs = 1.0 / (1.0 + np.exp(-scores))
    if metric == "frame_f1":
        pred, ref = probs >= 0.5, target > 0.5
        tp = np.logical_and(pred, ref).sum(1, keepdims=True)
        fp = np.logical_and(pred, ~ref).sum(1, keepdims=True)
        fn = np.logical_and(~pred, ref).sum(1, keepdims=True)
        per_file = _frame_sums(np.concatenate([tp, fp, fn], 1).astype(np.float64), offsets)
        return ItemScores(len(per_file), per_file, lambda s: _f1(*s))
    if metric == "event_onset_200ms_fms":
        if frame_rate is None:
            raise ValueError("event_onset_200ms_fms needs file offsets and the frame rate")
        per_file = np.array([onset_counts(p, r) for p, r in _file_events(probs, target, offsets, frame_rate, 0.5)],
                            dtype=np.float64).reshape(-1, 3)
        return ItemScores(len(per_file), per_file, lambda s: _f1(*s))
    if metric == "per":
        raise ValueError("PER scores decoded token sequences: use sequence_item_scores")
    raise ValueError(f"unknown metric {metric!r}; known: {METRICS}")


def sequence_item_scores(hyps: list[list[int]], refs: list[list[int]]):
    """Per-utterance [edits, reference length]; ``.score()`` = 1 - PER (higher is better)."""
    from usad.eval.bootstrap import ItemScores

    if not refs or sum(len(r) for r in refs) == 0:
        raise ValueError("PER: the references contain no token")
    stats = np.array([[edit_distance(h, r), len(r)] for h, r in zip(hyps, refs)], dtype=np.float64)
    return ItemScores(len(refs), stats, lambda s: 1.0 - s[0] / max(s[1], 1.0))
