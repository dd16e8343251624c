"""`usad extract --teacher crepe-full` ended in a traceback: np.stack cannot stack layers of 2048 and 360 dims.
Layers of different widths now go to one .npy per layer; layers of one width keep the stacked (L, T, D) file."""
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import require
from usad.cli.main import main
from usad.teachers import Teacher, TeacherInfo, TeacherOutput
from usad.teachers.registry import _REGISTRY, register_teacher

WIDTHS = {1: 24, 2: 7}


class TwoWidthTeacher(Teacher):
    """50 Hz frames; layer 1 is 24-d, layer 2 is 7-d (like CREPE's embedding and pitch posterior)."""

    def __init__(self) -> None:
        super().__init__()
        self.info = TeacherInfo(name="two-width", domain="music", sample_rate=16000, frame_rate=50.0,
                                num_layers=2, dims=dict(WIDTHS))

    def _forward(self, wav, lengths, layers):
        frames = (lengths + 319) // 320
        t = int(frames.max())
        mask = torch.arange(t)[None] < frames[:, None]
        feats = {l: torch.ones(wav.shape[0], t, WIDTHS[l]) * l * mask[..., None] for l in layers}
        return TeacherOutput(features=feats, mask=mask, frame_rate=50.0)


@pytest.fixture
def two_width_teacher():
    register_teacher("two-width", TwoWidthTeacher)
    yield "two-width"
    _REGISTRY.pop("two-width", None)


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "a4.wav"
    t = np.arange(16000) / 16000
    sf.write(path, (0.5 * np.sin(2 * np.pi * 440 * t)).astype("float32"), 16000)
    return path


def test_mixed_width_layers_get_one_npy_per_layer(two_width_teacher, clip, tmp_path, capsys):
    out = tmp_path / "X"
    assert main(["extract", str(clip), "--teacher", two_width_teacher, "--out", str(out)]) == 0
    one, two = np.load(out / "a4.layer_1.npy"), np.load(out / "a4.layer_2.npy")
    assert one.shape == (50, 24) and two.shape == (50, 7)
    assert np.all(one == 1.0) and np.all(two == 2.0)
    assert not (out / "a4.npy").exists()
    summary = json.loads((out / "extract_summary.json").read_text())
    assert summary["npy_layout"] == "per_layer" and len(summary["written"]) == 2
    assert "different widths" in capsys.readouterr().out


def test_layers_of_one_width_stay_stacked(two_width_teacher, clip, tmp_path):
    out = tmp_path / "X"
    assert main(["extract", str(clip), "--teacher", two_width_teacher, "--out", str(out), "--layers", "2"]) == 0
    assert np.load(out / "a4.npy").shape == (1, 50, 7)
    assert json.loads((out / "extract_summary.json").read_text())["npy_layout"] == "stacked"


def test_crepe_layers_extract_to_npy(clip, tmp_path):
    from usad.teachers.registry import check_teacher

    ok, why = check_teacher("crepe-tiny")
    require(ok, why)
    out = tmp_path / "X"
    assert main(["extract", str(clip), "--teacher", "crepe-tiny", "--out", str(out)]) == 0
    emb, posterior = np.load(out / "a4.layer_1.npy"), np.load(out / "a4.layer_2.npy")
    assert emb.shape[1] == 256 and posterior.shape[1] == 360 and emb.shape[0] == posterior.shape[0] > 90
    from usad.teachers.crepe import bin_to_hz

    pitch = bin_to_hz(torch.from_numpy(posterior[10:-10].argmax(axis=1))).median()
    assert abs(float(pitch) - 440.0) < 10.0  # the real posterior, not zeros or a misaligned layer
