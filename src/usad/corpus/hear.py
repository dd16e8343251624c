"""HEAR 2021 task format: writer for our probe tasks and the validating reader the evaluation code uses.

Layout of one task directory::

    task_metadata.json   task_name, version, embedding_type (scene|event), prediction_type (multiclass|multilabel),
                         split_mode (trainvaltest | new_split_kfold | presplit_kfold with nfolds),
                         sample_duration (s), evaluation (metric names), ...
    labelvocabulary.csv  columns idx,label (idx 0..n-1)
    train.json valid.json test.json   (or fold00.json ... for k-fold tasks)
                         scene: {"<file>": ["label", ...]}; event: {"<file>": [{"label", "start", "end"}, ...]} (ms)
    16000/<split>/<file> audio at 16 kHz
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

REQUIRED_FIELDS = ("task_name", "embedding_type", "prediction_type", "split_mode", "evaluation")
Label = Union[str, dict]  # scene: label name; event: {"label": str, "start": ms, "end": ms}


class HearTaskError(ValueError):
    """A HEAR task directory is malformed; the message names the task and the file."""


@dataclass
class HearExample:
    path: Path                 # absolute path of the audio file
    labels: list[Label]        # scene: [str, ...]; event: [{"label", "start", "end"}, ...] in ms


@dataclass
class HearTask:
    """A validated HEAR task: ``splits`` maps split name ("train", "valid", "test" or "fold00"...) to examples."""

    name: str
    root: Path
    metadata: dict[str, Any]
    vocabulary: list[str]                      # index i = label i
    splits: dict[str, list[HearExample]] = field(default_factory=dict)

    @property
    def embedding_type(self) -> str:
        return self.metadata["embedding_type"]

    @property
    def prediction_type(self) -> str:
        return self.metadata["prediction_type"]

    @property
    def label_to_index(self) -> dict[str, int]:
        return {lab: i for i, lab in enumerate(self.vocabulary)}


def split_names(metadata: dict[str, Any]) -> list[str]:
    mode = metadata.get("split_mode", "trainvaltest")
    if mode == "trainvaltest":
        return ["train", "valid", "test"]
    if mode.endswith("kfold"):
        return [f"fold{i:02d}" for i in range(int(metadata.get("nfolds", 5)))]
    raise HearTaskError(f"unknown split_mode {mode!r}")


def _label_name(label: Label) -> str:
    return label["label"] if isinstance(label, dict) else str(label)


def read_task(task_dir: str | Path, sample_rate: int = 16000, check_audio: bool = True) -> HearTask:
    """Read and validate one HEAR task directory.

    Raises HearTaskError naming the task and file on: missing/invalid task_metadata.json or labelvocabulary.csv,
    a missing split file, an empty split, a missing audio file, a label not in the vocabulary, an event label
    without start/end, or a train split (train or first fold) with fewer than two classes.
    """
    root = Path(task_dir).resolve()
    meta_path = root / "task_metadata.json"
    name = root.name
    if not meta_path.exists():
        raise HearTaskError(f"task {name}: {meta_path} is missing; is {root} a HEAR task directory?")
    try:
        metadata = json.loads(meta_path.read_text())
    except json.JSONDecodeError as e:
        raise HearTaskError(f"task {name}: {meta_path} is not valid JSON ({e})") from e
    missing = [k for k in REQUIRED_FIELDS if k not in metadata]
    if missing:
        raise HearTaskError(f"task {name}: {meta_path} lacks field(s) {missing}")
    name = metadata["task_name"]
    if metadata["embedding_type"] not in ("scene", "event"):
        raise HearTaskError(f"task {name}: {meta_path}: embedding_type must be scene or event, "
                            f"got {metadata['embedding_type']!r}")
    vocabulary = _read_vocabulary(root / "labelvocabulary.csv", name)
    known = set(vocabulary)
    task = HearTask(name, root, metadata, vocabulary)
    event = metadata["embedding_type"] == "event"
    try:
        splits = split_names(metadata)
    except HearTaskError as e:
        raise HearTaskError(f"task {name}: {meta_path}: {e}") from e
    for split in splits:
        spath = root / f"{split}.json"
        if not spath.exists():
            raise HearTaskError(f"task {name}: split file {spath} is missing")
        entries = json.loads(spath.read_text())
        if not entries:
            raise HearTaskError(f"task {name}: split {split} ({spath}) is empty")
        examples = []
        for fname in sorted(entries):
            labels = entries[fname]
            audio = root / str(sample_rate) / split / fname
            if check_audio and not audio.exists():
                raise HearTaskError(f"task {name}: audio file {audio} listed in {spath.name} is missing")
            for lab in labels:
                if event and not (isinstance(lab, dict) and {"label", "start", "end"} <= set(lab)):
                    raise HearTaskError(f"task {name}: {spath.name}: event label {lab!r} of {fname} needs "
                                        "label, start and end (ms)")
                if _label_name(lab) not in known:
                    raise HearTaskError(f"task {name}: {spath.name}: label {_label_name(lab)!r} of {fname} is not "
                                        f"in labelvocabulary.csv")
            examples.append(HearExample(audio, list(labels)))
        task.splits[split] = examples
    first = splits[0]
    classes = {_label_name(lab) for ex in task.splits[first] for lab in ex.labels}
    if len(classes) < 2 and not event:
        raise HearTaskError(f"task {name}: split {first} ({root / (first + '.json')}) has "
                            f"{len(classes)} class(es); a probe needs at least two")
    return task


def _read_vocabulary(path: Path, name: str) -> list[str]:
    if not path.exists():
        raise HearTaskError(f"task {name}: {path} is missing")
    with path.open(newline="", encoding="utf-8") as fp:
        rows = list(csv.DictReader(fp))
    if not rows or "idx" not in rows[0] or "label" not in rows[0]:
        raise HearTaskError(f"task {name}: {path} needs the columns idx,label")
    by_idx = {int(r["idx"]): r["label"] for r in rows}
    if sorted(by_idx) != list(range(len(by_idx))):
        raise HearTaskError(f"task {name}: {path}: idx must run 0..{len(by_idx) - 1}")
    return [by_idx[i] for i in range(len(by_idx))]


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def dumps(obj: Any) -> str:
    """Deterministic JSON (sorted keys, fixed indentation, trailing newline)."""
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_task_files(task_dir: Path, metadata: dict[str, Any], vocabulary: list[str],
                     splits: dict[str, dict[str, list[Label]]]) -> None:
    """Write task_metadata.json, labelvocabulary.csv and the split JSONs (audio is written by the caller)."""
    atomic_write_text(task_dir / "task_metadata.json", dumps(metadata))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["idx", "label"])
    for i, lab in enumerate(vocabulary):
        w.writerow([i, lab])
    atomic_write_text(task_dir / "labelvocabulary.csv", buf.getvalue())
    for split, entries in splits.items():
        atomic_write_text(task_dir / f"{split}.json", dumps(entries))
