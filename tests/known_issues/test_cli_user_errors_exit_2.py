"""Ordinary mistakes ended in tracebacks (exit 1) or ran the whole job first. The CLI now answers every user
error the same way: one message naming the input and what to do, exit code 2, no traceback, before any work."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "distill"))
from distill_fixtures import tiny_config, write_corpus  # noqa: E402

from usad.cli.main import main  # noqa: E402


@pytest.fixture
def recipe(tmp_path):
    manifest = write_corpus(tmp_path / "corpus", n=3)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_config(manifest, tmp_path / "run", max_steps=1)))
    return path


def user_error(args, capsys) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith(f"usad {args[0]}: error: ")
    return err


@pytest.mark.parametrize("overrides,expected", [
    (["teachers.0.name=no-such-teacher"], "unknown teacher 'no-such-teacher'"),
    (["data.train=[/nowhere/train.jsonl]"], "manifest /nowhere/train.jsonl: cannot read it"),
    (["student.preset=huge"], "unknown preset 'huge'"),
    (["optim.lr=-1"], "optim.lr must be > 0, got -1.0"),
    (["stage=3"], "stage must be 1 or 2, got 3"),
    (["student.overrides.dropout='0.1'"], "field 'dropout' must be a finite float, got '0.1'"),
    (["train.resume=/nowhere/step_1.pt"], "no such checkpoint file"),
    (["data.train=[a.jsonl"], "not valid YAML"),
])
def test_distill_setting_errors(recipe, capsys, overrides, expected):
    assert expected in user_error(["distill", "--config", str(recipe), *overrides], capsys)


def test_distill_yaml_syntax_error_names_the_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage: 1\nteachers:\n  - {name: whisper-base\noptim: {lr: 1e-3}\n")
    err = user_error(["distill", "--config", str(bad)], capsys)
    assert str(bad) in err and "line 4" in err


def test_distill_config_pointing_at_a_folder(recipe, tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text(recipe.read_text())
    err = user_error(["distill", "--config", str(tmp_path / "run")], capsys)
    assert "is a folder" in err and str(tmp_path / "run" / "config.yaml") in err


def test_distill_corrupt_checkpoint(recipe, tmp_path, capsys):
    ckpts = tmp_path / "run" / "checkpoints"
    ckpts.mkdir(parents=True)
    (ckpts / "step_000000001.pt").write_bytes(b"PK\x03\x04 truncated")
    err = user_error(["distill", "--config", str(recipe)], capsys)
    assert "step_000000001.pt is unreadable" in err and "delete it" in err


def test_demo_refuses_a_malformed_override_before_any_work(tmp_path, capsys):
    for flag in ("--student-override", "--set"):
        err = user_error(["demo", "--out", str(tmp_path / "run"), "--corpus", str(tmp_path / "corpus"), flag,
                          "num_layers"], capsys)
        assert "num_layers" in err and "key=value" in err
    assert not (tmp_path / "corpus").exists() and not (tmp_path / "run").exists()


def test_extract_checks_out_before_any_work(tmp_path, capsys):
    sf.write(tmp_path / "a.wav", np.zeros(8000, dtype="float32"), 16000)
    (tmp_path / "file.txt").write_text("x")
    for out in (tmp_path / "file.txt", tmp_path / "file.txt" / "sub"):
        err = user_error(["extract", str(tmp_path / "a.wav"), "--model", str(tmp_path / "missing"),
                          "--out", str(out)], capsys)
        assert f"--out {out}" in err          # reported before the (missing) model is even looked at


def test_extract_folder_without_audio(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no audio here")
    err = user_error(["extract", str(tmp_path / "empty"), "--preset", "small", "--out", str(tmp_path / "o")],
                     capsys)
    assert "no audio" in err and str(tmp_path / "empty") in err


def test_extract_rejects_chunk_seconds_zero(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["extract", "x.wav", "--preset", "small", "--out", str(tmp_path / "o"), "--chunk-seconds", "0"])
    assert stop.value.code == 2 and "--chunk-seconds" in capsys.readouterr().err


def test_missing_checkpoint_from_the_real_entry_point_has_no_traceback(tmp_path):
    sf.write(tmp_path / "a.wav", np.zeros(8000, dtype="float32"), 16000)
    done = subprocess.run([sys.executable, "-m", "usad", "extract", str(tmp_path / "a.wav"), "--model",
                           str(tmp_path / "nope"), "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "usad extract: error:" in done.stderr and str(tmp_path / "nope") in done.stderr


def test_a_genuine_bug_keeps_its_traceback(monkeypatch):
    import usad.cli.teachers as verb

    def broken(args):
        raise KeyError("a bug in usad")

    monkeypatch.setattr(verb, "run", broken)
    with pytest.raises(KeyError):
        main(["teachers"])
