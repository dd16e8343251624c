"""Compute an encoder's features for a probe task once, and cache them on disk.

Utterance-level ("scene") tasks keep, per layer, the mean over valid frames: ``(N, D)`` (a source may ask for
mean and standard deviation, ``(N, 2D)``: the spectral-statistics control). Frame-level ("event") tasks keep
every valid frame ``(sum_i T_i, D)`` (float16 on disk) with file boundaries ``offsets: (F + 1,)`` and frame
labels made from the events' start/end (ms) at the encoder's own frame rate. Sequence tasks keep every frame
like event tasks and one token sequence per file (``tokens`` flat, ``token_offsets``).

Cache layout: ``<cache>/<encoder-key>/<task>-<task-key>/<split>.safetensors``; the encoder key hashes the
source's identity (weights digest / teacher name and layers), the task key hashes the task's metadata and split
files, so a changed suite or model never reads stale features. Writes are atomic.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from usad.encoders import FrozenEncoder
from usad.errors import NonFiniteError
from usad.eval.protocol import SplitArrays, TaskArrays
from usad.io import save_safetensors

FEATURE_VERSION = "2"
SPLITS = ("train", "valid", "test")


@dataclass
class ProbeClip:
    """One audio file of a task. ``labels`` for scene tasks; ``events`` [(label, start_ms, end_ms)] for event
    tasks; ``labels`` is the ordered token sequence for sequence tasks."""

    path: Path
    labels: list[str] = field(default_factory=list)
    events: list[tuple[str, float, float]] = field(default_factory=list)


@dataclass
class ProbeTask:
    """What probing needs from a written HEAR-format task (built from ``usad.corpus.hear.read_task``; the corpus
    plans tasks as ``usad.corpus.probe.ProbeTaskPlan``)."""

    name: str
    domain: str
    embedding_type: str          # "scene" | "event" | "sequence"
    prediction_type: str         # "multiclass" | "multilabel"
    labels: list[str]
    splits: dict[str, list[ProbeClip]]
    evaluation: list[str] = field(default_factory=list)
    key: str = ""                # content hash of metadata + split files (cache key)

    @property
    def num_classes(self) -> int:
        # multiclass frame tasks get one extra "no label" class for unannotated frames (sequence tasks: the CTC
        # blank is added by the probe)
        extra = 1 if (self.embedding_type == "event" and self.prediction_type == "multiclass") else 0
        return len(self.labels) + extra


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def frame_targets(events: list[tuple[str, float, float]], num_frames: int, frame_rate: float,
                  label_index: dict[str, int], multiclass: bool) -> torch.Tensor:
    """Frame t (centre (t + 0.5) / frame_rate s) is labelled by every event with start <= centre < end.

    Returns (T, C) float multi-hot, or for multiclass (T,) long with index len(labels) meaning "no label"."""
    centre_ms = (torch.arange(num_frames, dtype=torch.float64) + 0.5) * 1000.0 / frame_rate
    if multiclass:
        y = torch.full((num_frames,), len(label_index), dtype=torch.long)
        for label, start, end in events:
            y[(centre_ms >= start) & (centre_ms < end)] = label_index[label]
        return y
    y = torch.zeros(num_frames, len(label_index))
    for label, start, end in events:
        y[(centre_ms >= start) & (centre_ms < end), label_index[label]] = 1.0
    return y


def scene_targets(clips: list[ProbeClip], label_index: dict[str, int], multiclass: bool) -> torch.Tensor:
    if multiclass:
        return torch.tensor([label_index[c.labels[0]] for c in clips], dtype=torch.long)
    y = torch.zeros(len(clips), len(label_index))
    for i, c in enumerate(clips):
        for label in c.labels:
            y[i, label_index[label]] = 1.0
    return y


def _check_labels(task: ProbeTask, split: str, clips: list[ProbeClip]) -> None:
    known = set(task.labels)
    for c in clips:
        used = [e[0] for e in c.events] if task.embedding_type == "event" else c.labels
        bad = [l for l in used if l not in known]
        if bad:
            raise ValueError(f"task {task.name!r}, {split} file {c.path.name}: label(s) {bad} are not in "
                             "labelvocabulary.csv; add them there or fix the split file")
        if task.embedding_type == "scene" and task.prediction_type == "multiclass" and len(c.labels) != 1:
            raise ValueError(f"task {task.name!r}, {split} file {c.path.name}: a multiclass task needs exactly "
                             f"one label per file, got {c.labels}")


@torch.no_grad()
def _encode_split(source: FrozenEncoder, task: ProbeTask, split: str, clips: list[ProbeClip],
                  batch_size: int) -> dict[str, torch.Tensor]:
    from usad.audio import AudioError, load_audio, pad_batch

    def load(i: int) -> torch.Tensor:
        try:
            return load_audio(clips[i].path, name=f"task {task.name!r}, {split} file {clips[i].path.name}")
        except AudioError as exc:
            raise AudioError(f"{exc} (file: {clips[i].path})") from exc

    # batches of similar file size (a proxy for duration), read batch by batch: memory stays bounded
    order = sorted(range(len(clips)), key=lambda i: os.path.getsize(clips[i].path) if clips[i].path.exists() else 0)
    pooled: list[dict[str, torch.Tensor]] = [dict() for _ in clips]
    frames: list[dict[str, torch.Tensor]] = [dict() for _ in clips]
    rate = source.frame_rate
    scene = task.embedding_type == "scene"
    pool = getattr(source, "pool", "mean")
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        batch, lens = pad_batch([load(i) for i in idx])
        out = source(batch.to(source.device), lens.to(source.device))
        rate = out.frame_rate
        mask = out.mask.cpu()
        for name, h in out.layers.items():
            h = h.float().cpu()
            if not torch.isfinite(h).all():
                raise NonFiniteError(f"encoder {source.spec!r} produced NaN/Inf features on task "
                                         f"{task.name!r} ({split}); check the model weights")
            for j, i in enumerate(idx):
                valid = h[j][mask[j]]
                if valid.shape[0] == 0:
                    raise ValueError(f"task {task.name!r}, {split} file {clips[i].path.name}: the encoder "
                                     "returned no valid frame; the clip is too short")
                if not scene:
                    frames[i][name] = valid.half()
                elif pool == "mean_std":
                    pooled[i][name] = torch.cat([valid.mean(0), valid.std(0, unbiased=False)])
                else:
                    pooled[i][name] = valid.mean(0)
    label_index = {l: k for k, l in enumerate(task.labels)}
    multiclass = task.prediction_type == "multiclass"
    names = list(pooled[0] if scene else frames[0])
    out_t: dict[str, torch.Tensor] = {"frame_rate": torch.tensor([rate], dtype=torch.float64)}
    if scene:
        for n in names:
            out_t[f"layer.{n}"] = torch.stack([p[n] for p in pooled]).contiguous()
        out_t["target"] = scene_targets(clips, label_index, multiclass)
        return out_t
    counts = [f[names[0]].shape[0] for f in frames]
    for n in names:
        out_t[f"layer.{n}"] = torch.cat([f[n] for f in frames]).contiguous()
    out_t["offsets"] = torch.tensor(np.concatenate([[0], np.cumsum(counts)]), dtype=torch.long)
    if task.embedding_type == "sequence":
        seqs = [[label_index[l] for l in c.labels] for c in clips]
        out_t["tokens"] = torch.tensor([t for q in seqs for t in q], dtype=torch.long)
        out_t["token_offsets"] = torch.tensor(np.concatenate([[0], np.cumsum([len(q) for q in seqs])]),
                                              dtype=torch.long)
        out_t["target"] = torch.zeros(0, dtype=torch.long)
    else:
        out_t["target"] = torch.cat([frame_targets(c.events, t, rate, label_index, multiclass)
                                     for c, t in zip(clips, counts)])
    return out_t


def task_cache_dir(identity: str, task: ProbeTask, cache_dir: str | Path | None) -> Path | None:
    """The cache folder of one (encoder, task) pair: ``<cache>/<encoder-key>/<task>-<task-key>``."""
    if not cache_dir:
        return None
    return Path(cache_dir) / _key(f"{FEATURE_VERSION}|{identity}") / f"{task.name}-{task.key or 'nokey'}"


def task_features(source: FrozenEncoder, task: ProbeTask, cache_dir: str | Path | None,
                  batch_size: int = 8, log=None) -> TaskArrays:
    """Features of every split of ``task`` under ``source``: read from the cache, or compute and store them."""
    from usad.eval.metrics import pick_metric

    task_dir = task_cache_dir(source.identity, task, cache_dir)
    splits: dict[str, SplitArrays] = {}
    rate = source.frame_rate
    names = list(task.splits) if task.splits else list(SPLITS)
    for split in names:
        clips = task.splits.get(split) or []
        if not clips:
            raise ValueError(f"task {task.name!r}: the {split} split has no files; add files to it or "
                             "remove the task from the suite")
        _check_labels(task, split, clips)
        path = task_dir / f"{split}.safetensors" if task_dir else None
        if path is not None and path.exists():
            t = load_file(str(path))
        else:
            if log:
                log(f"  encoding {task.name}/{split} ({len(clips)} files) with {source.spec}")
            t = _encode_split(source, task, split, clips, batch_size)
            if path is not None:
                save_safetensors(path, t, {"encoder": source.identity, "task": task.name, "split": str(split)})
        rate = float(t["frame_rate"][0])
        layers = {k[len("layer."):]: v for k, v in t.items() if k.startswith("layer.")}
        layers = {n: layers[n] for n in source.layer_names if n in layers} or layers
        offsets = t["offsets"].numpy() if "offsets" in t else None
        tokens = None
        if "tokens" in t:
            flat, bounds = t["tokens"].tolist(), t["token_offsets"].tolist()
            tokens = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        splits[split] = SplitArrays(layers, t["target"], offsets, tokens)
    metric = pick_metric(task.embedding_type, task.prediction_type, task.evaluation)
    return TaskArrays(task.name, task.domain, task.embedding_type, task.prediction_type, task.num_classes,
                      metric, rate, splits)
