"""read_task validates HEAR task folders and names the task and file in every error."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from usad.corpus.hear import HearTaskError, read_task, write_task_files


def _task(root: Path, splits: dict, vocab=("cat", "dog"), event=False) -> Path:
    tdir = root / "toy"
    meta = {"task_name": "toy", "version": "t", "embedding_type": "event" if event else "scene",
            "prediction_type": "multilabel" if event else "multiclass", "split_mode": "trainvaltest",
            "sample_duration": 0.5, "evaluation": ["top1_acc"]}
    write_task_files(tdir, meta, list(vocab), splits)
    for split, entries in splits.items():
        for fname in entries:
            (tdir / "16000" / split).mkdir(parents=True, exist_ok=True)
            sf.write(tdir / "16000" / split / fname, np.zeros(800, np.float32), 16000)
    return tdir


def _good():
    return {"train": {"a.wav": ["cat"], "b.wav": ["dog"]}, "valid": {"c.wav": ["cat"]}, "test": {"d.wav": ["dog"]}}


def test_reads_a_valid_scene_task(tmp_path):
    task = read_task(_task(tmp_path, _good()))
    assert task.name == "toy" and task.vocabulary == ["cat", "dog"]
    assert [ex.labels for ex in task.splits["train"]] == [["cat"], ["dog"]]
    assert all(ex.path.exists() for s in task.splits.values() for ex in s)
    assert task.label_to_index == {"cat": 0, "dog": 1}


def test_event_task_labels_carry_times(tmp_path):
    ev = [{"label": "cat", "start": 0.0, "end": 100.0}]
    splits = {s: {f"{s}.wav": ev} for s in ("train", "valid", "test")}
    task = read_task(_task(tmp_path, splits, event=True))
    assert task.embedding_type == "event" and task.splits["test"][0].labels == ev


def test_missing_audio_is_named(tmp_path):
    tdir = _task(tmp_path, _good())
    (tdir / "16000" / "test" / "d.wav").unlink()
    with pytest.raises(HearTaskError, match=r"toy.*d\.wav.*missing"):
        read_task(tdir)


def test_unknown_label_is_named(tmp_path):
    splits = _good()
    splits["test"] = {"d.wav": ["cow"]}
    with pytest.raises(HearTaskError, match=r"toy.*test\.json.*'cow'"):
        read_task(_task(tmp_path, splits))


def test_empty_split_is_named(tmp_path):
    splits = _good()
    splits["valid"] = {}
    with pytest.raises(HearTaskError, match=r"toy.*valid.*empty"):
        read_task(_task(tmp_path, splits))


def test_single_class_train_split_is_refused(tmp_path):
    splits = _good()
    splits["train"] = {"a.wav": ["cat"], "b.wav": ["cat"]}
    with pytest.raises(HearTaskError, match=r"toy.*train.*1 class"):
        read_task(_task(tmp_path, splits))


def test_missing_metadata_field_is_named(tmp_path):
    tdir = _task(tmp_path, _good())
    meta = json.loads((tdir / "task_metadata.json").read_text())
    del meta["embedding_type"]
    (tdir / "task_metadata.json").write_text(json.dumps(meta))
    with pytest.raises(HearTaskError, match=r"task_metadata\.json.*embedding_type"):
        read_task(tdir)


def _sequence_task(root: Path, splits: dict, vocab=("a", "b", "t")) -> Path:
    tdir = _task(root, splits, vocab)
    meta = json.loads((tdir / "task_metadata.json").read_text())
    meta.update(embedding_type="sequence", evaluation=["per"])
    (tdir / "task_metadata.json").write_text(json.dumps(meta))
    return tdir


def test_sequence_task_keeps_token_order_and_repeats(tmp_path):
    splits = {"train": {"a.wav": ["t", "a", "t", "a"], "b.wav": ["b"]}, "valid": {"c.wav": ["a", "b"]},
              "test": {"d.wav": ["b", "b", "a"]}}
    task = read_task(_sequence_task(tmp_path, splits))
    assert task.embedding_type == "sequence"
    assert [ex.labels for ex in task.splits["train"]] == [["t", "a", "t", "a"], ["b"]]
    assert task.splits["test"][0].labels == ["b", "b", "a"]


def test_sequence_token_outside_the_vocabulary_names_task_split_and_file(tmp_path):
    splits = {"train": {"a.wav": ["t", "a"]}, "valid": {"c.wav": ["a"]}, "test": {"d.wav": ["a", "ʃ"]}}
    with pytest.raises(HearTaskError, match=r"toy.*test\.json.*d\.wav.*token 'ʃ'.*labelvocabulary"):
        read_task(_sequence_task(tmp_path, splits))


def test_empty_token_sequence_is_refused(tmp_path):
    splits = {"train": {"a.wav": ["t", "a"]}, "valid": {"c.wav": []}, "test": {"d.wav": ["a"]}}
    with pytest.raises(HearTaskError, match=r"toy.*valid\.json.*c\.wav.*at least one token"):
        read_task(_sequence_task(tmp_path, splits))


def test_kfold_task_reads_every_fold(tmp_path):
    folds = {f"fold{i:02d}": {f"x{i}.wav": ["cat" if i % 2 else "dog"]} for i in range(5)}
    tdir = _task(tmp_path, folds)
    meta = json.loads((tdir / "task_metadata.json").read_text())
    meta.update(split_mode="new_split_kfold", nfolds=5)
    (tdir / "task_metadata.json").write_text(json.dumps(meta))
    (tdir / "fold01.json").write_text(json.dumps({"x1.wav": ["cat"], "y1.wav": ["dog"]}))
    sf.write(tdir / "16000" / "fold01" / "y1.wav", np.zeros(800, np.float32), 16000)
    task = read_task(tdir)
    assert task.is_kfold and sorted(task.splits) == [f"fold{i:02d}" for i in range(5)]
    (tdir / "fold04.json").unlink()
    with pytest.raises(HearTaskError, match=r"toy.*fold04\.json.*missing"):
        read_task(tdir)


def test_writer_removes_split_files_of_an_older_layout(tmp_path):
    tdir = _task(tmp_path, _good())
    folds = {f"fold{i:02d}": {"a.wav": ["cat"]} for i in range(3)}
    write_task_files(tdir, {"task_name": "toy"}, ["cat"], folds)
    assert sorted(p.name for p in tdir.glob("*.json")) == ["fold00.json", "fold01.json", "fold02.json",
                                                           "task_metadata.json"]
