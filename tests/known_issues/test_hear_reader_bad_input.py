"""Regression tests for malformed HEAR task folders that users hit: each gives a HearTaskError that names the task
and the file instead of a traceback, a nameless message or a silently wrong reading."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from usad.corpus.hear import HearTaskError, read_task, write_task_files


def _task(root: Path) -> Path:
    tdir = root / "toy"
    meta = {"task_name": "toy", "version": "t", "embedding_type": "scene", "prediction_type": "multiclass",
            "split_mode": "trainvaltest", "sample_duration": 0.5, "evaluation": ["top1_acc"]}
    splits = {"train": {"a.wav": ["cat"], "b.wav": ["dog"]}, "valid": {"c.wav": ["cat"]},
              "test": {"d.wav": ["dog"]}}
    write_task_files(tdir, meta, ["cat", "dog"], splits)
    for split, entries in splits.items():
        (tdir / "16000" / split).mkdir(parents=True, exist_ok=True)
        for fname in entries:
            sf.write(tdir / "16000" / split / fname, np.zeros(800, np.float32), 16000)
    return tdir


def test_split_file_that_is_a_json_list_is_named_not_a_traceback(tmp_path):
    tdir = _task(tmp_path)
    (tdir / "valid.json").write_text(json.dumps([["c.wav", "cat"]]))
    with pytest.raises(HearTaskError, match=r"task toy: .*valid\.json must be a JSON object.*got a JSON list"):
        read_task(tdir)


def test_split_file_with_bad_json_names_the_file(tmp_path):
    tdir = _task(tmp_path)
    (tdir / "test.json").write_text('{"d.wav": ["dog"],}')
    with pytest.raises(HearTaskError, match=r"task toy: .*test\.json is not valid JSON"):
        read_task(tdir)


def test_metadata_with_bad_json_names_the_file(tmp_path):
    tdir = _task(tmp_path)
    (tdir / "task_metadata.json").write_text("{not json")
    with pytest.raises(HearTaskError, match=r"toy.*task_metadata\.json is not valid JSON"):
        read_task(tdir)


@pytest.mark.parametrize("row", ["x,cat", "1.5,cat", ",cat"])
def test_vocabulary_with_a_bad_id_names_the_file_and_line(tmp_path, row):
    tdir = _task(tmp_path)
    (tdir / "labelvocabulary.csv").write_text(f"idx,label\n0,dog\n{row}\n")
    with pytest.raises(HearTaskError, match=r"task toy: .*labelvocabulary\.csv line 3: idx .* is not an integer"):
        read_task(tdir)


def test_vocabulary_with_a_repeated_id_is_named(tmp_path):
    tdir = _task(tmp_path)
    (tdir / "labelvocabulary.csv").write_text("idx,label\n0,cat\n0,dog\n")
    with pytest.raises(HearTaskError, match=r"task toy: .*labelvocabulary\.csv line 3: idx 0 appears twice"):
        read_task(tdir)


def test_bare_string_label_is_refused_not_read_letter_by_letter(tmp_path):
    tdir = _task(tmp_path)
    (tdir / "train.json").write_text(json.dumps({"a.wav": "cat", "b.wav": ["dog"]}))
    with pytest.raises(HearTaskError, match=r"task toy: .*train\.json: a\.wav: labels must be a JSON list "
                                            r"\(e\.g\. \[\"dog\"\]\), got 'cat'"):
        read_task(tdir)


@pytest.mark.parametrize("fname", ["../../etc/x.wav", "/etc/passwd", "sub/../../x.wav", "..\\x.wav"])
def test_file_names_outside_the_task_folder_are_refused(tmp_path, fname):
    tdir = _task(tmp_path)
    (tdir / "test.json").write_text(json.dumps({fname: ["dog"]}))
    with pytest.raises(HearTaskError, match=r"task toy: .*test\.json: file name .* (points outside|is not a plain)"):
        read_task(tdir, check_audio=False)


def test_event_label_with_non_numeric_times_is_named(tmp_path):
    tdir = _task(tmp_path)
    meta = json.loads((tdir / "task_metadata.json").read_text())
    meta.update(embedding_type="event", prediction_type="multilabel")
    (tdir / "task_metadata.json").write_text(json.dumps(meta))
    ev = [{"label": "cat", "start": 0, "end": 100}]
    for split in ("train", "valid"):
        (tdir / f"{split}.json").write_text(json.dumps({f: ev for f in json.loads((tdir / f"{split}.json")
                                                                                   .read_text())}))
    (tdir / "test.json").write_text(json.dumps({"d.wav": [{"label": "dog", "start": "0", "end": 100}]}))
    with pytest.raises(HearTaskError, match=r"task toy: .*test\.json: d\.wav: event label .* needs numbers"):
        read_task(tdir)
