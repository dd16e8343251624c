"""CREPE and Basic Pitch on real notes: they must find the pitch that was played."""
import numpy as np
import pytest
import torch

from tests.conftest import require


def _load(name):
    from usad.teachers.registry import check_teacher, load_teacher

    ok, why = check_teacher(name)
    require(ok, why)
    return load_teacher(name)


@pytest.fixture(scope="module")
def crepe_tiny():
    return _load("crepe-tiny")


def _median_hz(posterior: torch.Tensor) -> float:
    from usad.teachers.crepe import bin_to_hz

    return float(bin_to_hz(posterior.argmax(-1)).median())


def test_crepe_tiny_finds_a4_in_tone_and_rendered_piano(crepe_tiny, tone, render_note):
    out = crepe_tiny(torch.from_numpy(tone(440.0, 0.5)), layers=[1, 2])
    assert out.features[1].shape == (1, 51, 256) and out.features[2].shape == (1, 51, 360)
    assert abs(_median_hz(out.features[2][0]) - 440.0) < 440.0 * 0.02  # within 35 cents (bins are 20 cents)
    piano = render_note(69, 1.0)
    out = crepe_tiny(torch.from_numpy(piano[2000:10000]), layers=[2])
    assert abs(_median_hz(out.features[2][0]) - 440.0) < 440.0 * 0.02


def test_crepe_hop_sets_frame_rate_and_batch_equals_single(tone):
    from usad.teachers.registry import load_teacher

    require(_load("crepe-tiny") is not None, "crepe")
    t = load_teacher("crepe-tiny", hop_ms=20.0)
    assert t.frame_rate == 50.0
    a, b = torch.from_numpy(tone(220.0, 0.4)), torch.from_numpy(tone(330.0, 0.2))
    batch = torch.nn.utils.rnn.pad_sequence([a, b], batch_first=True)
    out = t(batch, torch.tensor([len(a), len(b)]), layers=[1])
    alone = t(b, layers=[1])
    assert out.mask.sum(1).tolist() == [21, 11]
    assert torch.allclose(out.features[1][1, :11], alone.features[1][0], atol=1e-5)


@pytest.mark.slow
def test_crepe_full_finds_a4(tone):
    t = _load("crepe-full")
    from usad.teachers.registry import load_teacher

    t = load_teacher("crepe-full", hop_ms=50.0)
    out = t(torch.from_numpy(tone(440.0, 0.3)), layers=[2])
    assert out.features[2].shape == (1, 7, 360)
    assert abs(_median_hz(out.features[2][0]) - 440.0) < 440.0 * 0.02
    assert t.info.dims[1] == 2048


def test_basic_pitch_note_peak_at_played_midi_pitch(render_note):
    bp = _load("basic-pitch")
    clips = [render_note(69, 1.0), render_note(60, 1.0, program=24)]  # A4 piano, C4 nylon guitar
    batch = torch.from_numpy(np.stack(clips))
    out = bp(batch, layers=[1, 2, 3])
    assert out.frame_rate == pytest.approx(86.13, abs=0.01)
    assert out.features[1].shape[-1] == 264 and out.features[2].shape[-1] == 88
    assert out.features[2].shape[1] == int(np.ceil(16000 * 22050 / 16000 / 256))
    for b, midi in enumerate([69, 60]):
        peak = int(out.features[2][b].max(0).values.argmax()) + 21
        assert peak == midi, (b, peak)
        onset = out.features[3][b].max(1).values
        assert int(onset.argmax()) < 15  # the onset is near the start of the clip


def test_pesto_finds_tone_and_rendered_note_pitch(tone, render_note):
    t = _load("pesto")
    assert t.info.dims == {1: 657, 2: 384} and t.frame_rate == 100.0
    a4 = torch.from_numpy(tone(440.0, 0.5))
    c4 = torch.from_numpy(render_note(60, 1.0, program=0)[1600:9600])
    batch = torch.nn.utils.rnn.pad_sequence([a4, c4], batch_first=True)
    out = t(batch, torch.tensor([len(a4), len(c4)]), layers=[1, 2])
    assert out.mask.sum(1).tolist() == [51, 51]
    midi = t.activation_to_midi(out.features[2])
    assert abs(float(midi[0, 5:-5].median()) - 69.0) < 0.25
    assert abs(float(midi[1, 5:-5].median()) - 60.0) < 0.25
    alone = t(c4, layers=[2])
    assert torch.allclose(alone.features[2][0], out.features[2][1, :51], atol=1e-5)


@pytest.mark.parametrize("name", ["crepe-tiny", "pesto", "resemblyzer"])
def test_bfloat16_weights_give_close_features(name, tone):
    import torch.nn.functional as F

    from usad.teachers.registry import load_teacher

    _load(name)
    wav = torch.from_numpy(tone(330.0, 0.3))
    ref = load_teacher(name)(wav, layers=[1]).features[1].float()
    low = load_teacher(name, dtype=torch.bfloat16)(wav, layers=[1]).features[1].float()
    assert torch.isfinite(low).all()
    assert F.cosine_similarity(ref.flatten(), low.flatten(), dim=0) > 0.99
