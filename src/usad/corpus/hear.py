"""HEAR 2021 task format: writer for our probe tasks and the validating reader the evaluation code uses.

Layout of one task directory::

    task_metadata.json   task_name, version, embedding_type (scene|event|sequence), prediction_type
                         (multiclass|multilabel), split_mode (trainvaltest | new_split_kfold | presplit_kfold with
                         nfolds), sample_duration (s), evaluation (metric names), ...
    labelvocabulary.csv  columns idx,label (idx 0..n-1)
    train.json valid.json test.json   (or fold00.json ... fold<nfolds-1>.json for k-fold tasks)
                         scene: {"<file>": ["label", ...]}
                         event: {"<file>": [{"label": str, "start": ms, "end": ms}, ...]}
                         sequence: {"<file>": ["tok", "tok", ...]}  (tokens in order, repeats allowed; our
                         extension of HEAR for frame-level content tasks scored by token error rate)
    16000/<split>/<file> audio at 16 kHz
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Union

from usad.errors import UsadError
from usad.io import atomic_write_text

REQUIRED_FIELDS = ("task_name", "embedding_type", "prediction_type", "split_mode", "evaluation")
EMBEDDING_TYPES = ("scene", "event", "sequence")
KFOLD_MODE = "new_split_kfold"
Label = Union[str, dict]  # scene/sequence: label name; event: {"label": str, "start": ms, "end": ms}
_SPLIT_FILE = re.compile(r"^(train|valid|test|fold\d{2})\.json$")


class HearTaskError(UsadError):
    """A HEAR task directory is malformed; the message names the task and the file."""


@dataclass
class HearExample:
    path: Path                 # absolute path of the audio file
    labels: list[Label]        # scene: [str, ...]; event: [{"label", "start", "end"}, ...] in ms;
                               # sequence: [token, ...] in order


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
    def is_kfold(self) -> bool:
        return str(self.metadata.get("split_mode", "")).endswith("kfold")

    @property
    def label_to_index(self) -> dict[str, int]:
        return {lab: i for i, lab in enumerate(self.vocabulary)}


def split_names(metadata: dict[str, Any]) -> list[str]:
    mode = metadata.get("split_mode", "trainvaltest")
    if mode == "trainvaltest":
        return ["train", "valid", "test"]
    if isinstance(mode, str) and mode.endswith("kfold"):
        nfolds = metadata.get("nfolds", 5)
        if isinstance(nfolds, bool) or not isinstance(nfolds, int) or nfolds < 2:
            raise HearTaskError(f"nfolds must be an integer >= 2 for split_mode {mode!r}, got {nfolds!r}")
        return [f"fold{i:02d}" for i in range(nfolds)]
    raise HearTaskError(f"unknown split_mode {mode!r}")


def _label_name(label: Label) -> str:
    return label["label"] if isinstance(label, dict) else str(label)


def _read_json(path: Path, name: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise HearTaskError(f"task {name}: {path} is not valid JSON ({e})") from e


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_file_name(fname: str, name: str, spath: Path) -> None:
    """A listed file must be a relative path inside its split folder (no absolute path, no '..')."""
    if not fname or "\\" in fname or "\x00" in fname:
        raise HearTaskError(f"task {name}: {spath}: file name {fname!r} is not a plain relative path")
    p = PurePosixPath(fname)
    if p.is_absolute() or ".." in p.parts:
        raise HearTaskError(f"task {name}: {spath}: file name {fname!r} points outside the task folder; file "
                            "names must be relative to 16000/<split>/ without '..'")


def _check_labels(labels: Any, fname: str, kind: str, known: set[str], name: str, spath: Path) -> list[Label]:
    where = f"task {name}: {spath}: {fname}"
    if not isinstance(labels, list):
        example = '[{"label": "dog", "start": 0, "end": 500}]' if kind == "event" else '["dog"]'
        raise HearTaskError(f"{where}: labels must be a JSON list (e.g. {example}), got {labels!r}")
    if kind == "sequence" and not labels:
        raise HearTaskError(f"{where}: a sequence task needs at least one token per file, got []")
    out: list[Label] = []
    for lab in labels:
        if kind == "event":
            if not (isinstance(lab, dict) and {"label", "start", "end"} <= set(lab)):
                raise HearTaskError(f"{where}: event label {lab!r} needs label, start and end (ms)")
            if not (_is_number(lab["start"]) and _is_number(lab["end"]) and 0 <= lab["start"] <= lab["end"]):
                raise HearTaskError(f"{where}: event label {lab!r} needs numbers 0 <= start <= end (ms)")
            if not isinstance(lab["label"], str):
                raise HearTaskError(f"{where}: event label name {lab['label']!r} must be a string")
        else:
            if isinstance(lab, bool) or not isinstance(lab, (str, int)):
                what = "token" if kind == "sequence" else "label"
                raise HearTaskError(f"{where}: {what} {lab!r} must be a string")
            lab = str(lab)
        if _label_name(lab) not in known:
            what = "token" if kind == "sequence" else "label"
            raise HearTaskError(f"{where}: {what} {_label_name(lab)!r} is not in labelvocabulary.csv")
        out.append(lab)
    return out


def read_task(task_dir: str | Path, sample_rate: int = 16000, check_audio: bool = True) -> HearTask:
    """Read and validate one HEAR task directory.

    Raises HearTaskError naming the task and file on: missing/invalid task_metadata.json or labelvocabulary.csv,
    a missing or invalid split file (not JSON, not an object of file -> list of labels), an empty split, a file
    name that leaves the task folder, a missing audio file, a label (or sequence token) not in the vocabulary, an
    event label without numeric start/end, an empty token sequence, or a train split (all folds together for
    k-fold tasks) with fewer than two classes (tokens, for sequence tasks).
    """
    root = Path(task_dir).resolve()
    meta_path = root / "task_metadata.json"
    name = root.name
    if not meta_path.exists():
        raise HearTaskError(f"task {name}: {meta_path} is missing; is {root} a HEAR task directory?")
    metadata = _read_json(meta_path, name)
    if not isinstance(metadata, dict):
        raise HearTaskError(f"task {name}: {meta_path} must be a JSON object, got {type(metadata).__name__}")
    missing = [k for k in REQUIRED_FIELDS if k not in metadata]
    if missing:
        raise HearTaskError(f"task {name}: {meta_path} lacks field(s) {missing}")
    name = str(metadata["task_name"])
    kind = metadata["embedding_type"]
    if kind not in EMBEDDING_TYPES:
        raise HearTaskError(f"task {name}: {meta_path}: embedding_type must be one of {list(EMBEDDING_TYPES)}, "
                            f"got {kind!r}")
    vocabulary = _read_vocabulary(root / "labelvocabulary.csv", name)
    known = set(vocabulary)
    task = HearTask(name, root, metadata, vocabulary)
    try:
        splits = split_names(metadata)
    except HearTaskError as e:
        raise HearTaskError(f"task {name}: {meta_path}: {e}") from e
    for split in splits:
        spath = root / f"{split}.json"
        if not spath.exists():
            raise HearTaskError(f"task {name}: split file {spath} is missing")
        entries = _read_json(spath, name)
        if not isinstance(entries, dict):
            raise HearTaskError(f"task {name}: {spath} must be a JSON object mapping file name -> list of labels, "
                                f"got a JSON {type(entries).__name__}")
        if not entries:
            raise HearTaskError(f"task {name}: split {split} ({spath}) is empty")
        examples = []
        for fname in sorted(entries):
            _check_file_name(fname, name, spath)
            labels = _check_labels(entries[fname], fname, kind, known, name, spath)
            audio = root / str(sample_rate) / split / fname
            if check_audio and not audio.exists():
                raise HearTaskError(f"task {name}: audio file {audio} listed in {spath.name} is missing")
            examples.append(HearExample(audio, labels))
        task.splits[split] = examples
    # what a probe trains on: the train split, or (k-fold) the folds together
    train = splits if task.is_kfold else splits[:1]
    classes = {_label_name(lab) for s in train for ex in task.splits[s] for lab in ex.labels}
    if len(classes) < 2 and kind != "event":
        what = "token(s)" if kind == "sequence" else "class(es)"
        where = "the folds together" if task.is_kfold else f"split {train[0]} ({root / (train[0] + '.json')})"
        raise HearTaskError(f"task {name}: {where} has {len(classes)} {what}; a probe needs at least two")
    return task


def _read_vocabulary(path: Path, name: str) -> list[str]:
    if not path.exists():
        raise HearTaskError(f"task {name}: {path} is missing")
    try:
        with path.open(newline="", encoding="utf-8") as fp:
            rows = list(csv.DictReader(fp))
    except (UnicodeDecodeError, csv.Error) as e:
        raise HearTaskError(f"task {name}: {path} is not a readable CSV ({e})") from e
    if not rows or "idx" not in rows[0] or "label" not in rows[0]:
        raise HearTaskError(f"task {name}: {path} needs the columns idx,label")
    by_idx: dict[int, str] = {}
    for line, r in enumerate(rows, start=2):
        try:
            idx = int(str(r["idx"]).strip())
        except (TypeError, ValueError):
            raise HearTaskError(f"task {name}: {path} line {line}: idx {r['idx']!r} is not an integer") from None
        if r["label"] is None or r["label"] == "":
            raise HearTaskError(f"task {name}: {path} line {line}: label is empty")
        if idx in by_idx:
            raise HearTaskError(f"task {name}: {path} line {line}: idx {idx} appears twice")
        by_idx[idx] = r["label"]
    if sorted(by_idx) != list(range(len(by_idx))):
        raise HearTaskError(f"task {name}: {path}: idx must run 0..{len(by_idx) - 1}")
    vocab = [by_idx[i] for i in range(len(by_idx))]
    if len(set(vocab)) != len(vocab):
        dup = sorted({v for v in vocab if vocab.count(v) > 1})
        raise HearTaskError(f"task {name}: {path}: label(s) {dup} appear twice")
    return vocab


def dumps(obj: Any) -> str:
    """Deterministic JSON (sorted keys, fixed indentation, trailing newline)."""
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_task_files(task_dir: Path, metadata: dict[str, Any], vocabulary: list[str],
                     splits: dict[str, dict[str, list[Label]]]) -> None:
    """Write task_metadata.json, labelvocabulary.csv and the split JSONs (audio is written by the caller).

    Split files of an earlier layout that this one does not have (train.json after a switch to folds) are
    removed, so the folder always reads as the task it now is."""
    atomic_write_text(task_dir / "task_metadata.json", dumps(metadata))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["idx", "label"])
    for i, lab in enumerate(vocabulary):
        w.writerow([i, lab])
    atomic_write_text(task_dir / "labelvocabulary.csv", buf.getvalue())
    for split, entries in splits.items():
        atomic_write_text(task_dir / f"{split}.json", dumps(entries))
    for old in task_dir.glob("*.json"):
        m = _SPLIT_FILE.match(old.name)
        if m and m.group(1) not in splits:
            old.unlink()
