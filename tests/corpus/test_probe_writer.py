"""Writing probe tasks: k-fold and sequence layouts, their chance levels, and no stale audio from older layouts."""
from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from usad.corpus.build import remove_retired_tasks
from usad.corpus.clip import Clip
from usad.corpus.hear import read_task
from usad.corpus.probe import ProbeEntry, ProbeTaskPlan, write_probe_task


def _clip(cid: str, value: float = 0.1) -> Clip:
    return Clip(cid, lambda: np.full(1600, value, np.float32), "test", True, f"test:{cid}", group=cid)


def test_kfold_task_has_fold_files_metadata_and_pooled_majority_chance(tmp_path):
    entries = [ProbeEntry(_clip(f"c{i}"), f"fold{i % 5:02d}", ["dog" if i % 3 else "cat"]) for i in range(15)]
    task = ProbeTaskPlan("toy", "sound", "d", "r", entries=entries, nfolds=5)
    stats = write_probe_task(task, tmp_path, lambda rendered: None)
    meta = json.loads((tmp_path / "toy" / "task_metadata.json").read_text())
    assert meta["split_mode"] == "new_split_kfold" and meta["nfolds"] == 5 and meta["domain"] == "sound"
    assert sorted(read_task(tmp_path / "toy").splits) == [f"fold{i:02d}" for i in range(5)]
    assert stats["test_items"] == 15 and stats["total_clips"] == 15
    assert stats["chance_top1_majority"] == round(10 / 15, 4)     # "dog" is the majority of every rotation


def test_sequence_task_writes_token_lists_and_a_majority_token_per(tmp_path):
    entries = [ProbeEntry(_clip("a"), "train", ["t", "a", "t"]), ProbeEntry(_clip("b"), "valid", ["a"]),
               ProbeEntry(_clip("c"), "test", ["t", "o", "t", "a"])]
    task = ProbeTaskPlan("seq", "speech", "d", "r", embedding_type="sequence", entries=entries)
    stats = write_probe_task(task, tmp_path, lambda rendered: None)
    read = read_task(tmp_path / "seq")
    assert read.metadata["evaluation"] == ["per"] and read.splits["test"][0].labels == ["t", "o", "t", "a"]
    assert stats["chance_per_majority_token"] == 0.5 and stats["test_tokens_unseen_in_train"] == ["o"]


def test_audio_of_an_older_layout_version_is_rendered_again(tmp_path):
    tdir = tmp_path / "toy"
    (tdir / "16000" / "test").mkdir(parents=True)
    sf.write(tdir / "16000" / "test" / "c.wav", np.zeros(16000 * 10, np.float32), 16000)   # stale 10 s clip
    (tdir / "task_metadata.json").write_text(json.dumps({"version": "usad-1"}))
    entries = [ProbeEntry(_clip("a"), "train", ["x"]), ProbeEntry(_clip("b", 0.2), "train", ["y"]),
               ProbeEntry(_clip("d"), "valid", ["x"]), ProbeEntry(_clip("c"), "test", ["y"])]
    write_probe_task(ProbeTaskPlan("toy", "sound", "d", "r", entries=entries), tmp_path, lambda rendered: None)
    assert sf.info(str(tdir / "16000" / "test" / "c.wav")).duration == 0.1


def test_folders_of_retired_tasks_are_removed_but_foreign_ones_kept(tmp_path):
    for name, version in (("spoken_digits", "usad-1"), ("my_hear_task", "hear-2021"), ("phonemes", "usad-2")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "task_metadata.json").write_text(json.dumps({"version": version}))
    done = remove_retired_tasks(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_hear_task", "phonemes"]
    assert len(done) == 1 and "spoken_digits" in done[0]
