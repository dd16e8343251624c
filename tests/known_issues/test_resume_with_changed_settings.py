"""A resume silently ignored a changed optim.lr (it trained at the old rate while config.yaml recorded the new
one), and a changed student shape ended in torch's state_dict error. A resume now refuses, naming each setting
that differs, unless only keys that are safe to change (train.max_steps, ...) differ."""
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "distill"))
from distill_fixtures import tiny_config, write_corpus  # noqa: E402

from usad.cli.main import main  # noqa: E402
from usad.distill.config import load_config  # noqa: E402
from usad.distill.resume import ResumeError, config_differences  # noqa: E402
from usad.distill.trainer import train  # noqa: E402


@pytest.fixture
def finished_run(tmp_path):
    manifest = write_corpus(tmp_path / "corpus", n=6)
    cfg = tiny_config(manifest, tmp_path / "run", max_steps=2, ckpt_every=1)
    train(load_config(cfg))
    return cfg, tmp_path / "run"


def test_changed_learning_rate_is_refused_and_config_yaml_kept(finished_run):
    cfg, run = finished_run
    before = (run / "config.yaml").read_text()
    with pytest.raises(ResumeError, match=r"optim\.lr: 0\.001 -> 0\.002"):
        train(load_config(cfg, ["optim.lr=0.002", "train.max_steps=3"]))
    assert (run / "config.yaml").read_text() == before
    assert sorted(p.name for p in (run / "checkpoints").iterdir())[-1] == "step_000000002.pt"


def test_safe_keys_may_change_and_the_run_continues(finished_run):
    cfg, run = finished_run
    result = train(load_config(cfg, ["train.max_steps=3", "train.log_every=5", "data.num_workers=0"]))
    assert result.step == 3
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["max_steps"] == 3


def test_changed_student_shape_names_the_run_folder(finished_run, capsys):
    cfg, run = finished_run
    args = ["distill", "--config", str(run / "config.yaml"), "student.overrides.dim=64", "train.max_steps=3"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "student.overrides.dim: 32 -> 64" in err and str(run) in err and "train.out_dir" in err
    assert "Traceback" not in err


def test_missing_config_yaml_still_catches_a_shape_change(finished_run):
    cfg, run = finished_run
    (run / "config.yaml").unlink()
    with pytest.raises(ResumeError, match="student/heads do not match"):
        train(load_config(cfg, ["student.overrides.dim=64", "student.overrides.conv_pos_groups=4"]))


def test_differences_ignore_safe_keys_and_normalise_tuples():
    a = load_config({"teachers": [{"name": "x"}]}).to_dict()
    b = load_config({"teachers": [{"name": "x"}]}, ["train.max_minutes=5", "optim.betas=[0.9,0.99]"]).to_dict()
    assert config_differences(a, b) == [("optim.betas.1", 0.98, 0.99)]
