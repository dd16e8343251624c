"""Bad suites fail through `usad probe` with an error naming the task and the file (exit code 2)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from suite_fixture import write_scene_task  # noqa: E402

from usad.cli.main import main  # noqa: E402

ARGS = ["--encoder", "teacher:test:8x1@50", "--lrs", "1e-2", "--seeds", "0", "--probes", "linear",
        "--max-steps", "20", "--no-plots"]


def _probe(suite: Path, tmp_path: Path, capsys) -> tuple[int, str]:
    rc = main(["probe", "--suite", str(suite), "--out", str(tmp_path / "out"), *ARGS])
    return rc, capsys.readouterr().err


def test_missing_audio_file_is_named(tmp_path, capsys):
    task = write_scene_task(tmp_path / "s", n=(4, 2, 2))
    (task / "16000" / "test" / "test_001.wav").unlink()
    rc, err = _probe(tmp_path / "s", tmp_path, capsys)
    assert rc == 2 and "pitch_class" in err and "test_001.wav" in err


def test_label_outside_vocabulary_is_named(tmp_path, capsys):
    task = write_scene_task(tmp_path / "s", n=(4, 2, 2))
    split = json.loads((task / "valid.json").read_text())
    split["valid_000.wav"] = ["middle"]
    (task / "valid.json").write_text(json.dumps(split))
    rc, err = _probe(tmp_path / "s", tmp_path, capsys)
    assert rc == 2 and "pitch_class" in err and "'middle'" in err and "valid_000.wav" in err


def test_single_class_training_split_is_refused(tmp_path, capsys):
    task = write_scene_task(tmp_path / "s", n=(4, 2, 2))
    (task / "train.json").write_text(json.dumps({"train_000.wav": ["low"], "train_002.wav": ["low"]}))
    rc, err = _probe(tmp_path / "s", tmp_path, capsys)
    assert rc == 2 and "pitch_class" in err and "class" in err


def test_empty_split_is_refused(tmp_path, capsys):
    task = write_scene_task(tmp_path / "s", n=(4, 2, 2))
    (task / "test.json").write_text("{}")
    rc, err = _probe(tmp_path / "s", tmp_path, capsys)
    assert rc == 2 and "pitch_class" in err and "test" in err and "empty" in err


def test_empty_fold_of_a_kfold_task_is_refused(tmp_path, capsys):
    task = write_scene_task(tmp_path / "s", n=(4, 2, 2))
    meta = json.loads((task / "task_metadata.json").read_text())
    meta.update(split_mode="new_split_kfold", nfolds=3)
    (task / "task_metadata.json").write_text(json.dumps(meta))
    for i, split in enumerate(("train", "valid", "test")):
        entries = json.loads((task / f"{split}.json").read_text())
        (task / "16000" / split).rename(task / "16000" / f"fold{i:02d}")
        (task / f"fold{i:02d}.json").write_text(json.dumps(entries if i != 2 else {}))
    rc, err = _probe(tmp_path / "s", tmp_path, capsys)
    assert rc == 2 and "pitch_class" in err and "fold02" in err


def test_kfold_task_rotates_folds(tmp_path, capsys):
    task = write_scene_task(tmp_path / "s", n=(6, 4, 4))
    meta = json.loads((task / "task_metadata.json").read_text())
    meta.update(split_mode="new_split_kfold", nfolds=3)
    (task / "task_metadata.json").write_text(json.dumps(meta))
    for i, split in enumerate(("train", "valid", "test")):
        (task / "16000" / split).rename(task / "16000" / f"fold{i:02d}")
        (task / f"{split}.json").rename(task / f"fold{i:02d}.json")
    rc, err = _probe(tmp_path / "s", tmp_path, capsys)
    assert rc == 0, err
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert res["scores"]["teacher:test:8x1@50"]["pitch_class"]["extra"]["folds"] == 3
    # every item is a test item once: the report counts all of them (6 + 4 + 4), not "?"
    assert "pitch_class 14 in 3 folds" in (tmp_path / "out" / "report.md").read_text()


def test_unknown_encoder_spec_and_missing_student_are_reported(tmp_path, capsys):
    write_scene_task(tmp_path / "s", n=(4, 2, 2))
    for enc in ("nonsense:x", f"student:{tmp_path / 'no-such-run'}"):
        rc = main(["probe", "--suite", str(tmp_path / "s"), "--out", str(tmp_path / "out"), "--encoder", enc])
        err = capsys.readouterr().err
        assert rc == 2 and enc.split(":", 1)[1] in err
