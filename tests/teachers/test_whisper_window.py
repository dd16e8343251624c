"""whisper-base's "clip" window convention: cost follows clip length; a full 30 s window is unchanged."""
import pytest
import torch

from tests.conftest import require


@pytest.fixture(scope="module")
def teachers():
    from usad.teachers import load_teacher
    from usad.teachers.whisper.teacher import check_available

    try:
        check_available()
    except Exception as exc:  # noqa: BLE001 - reported through require
        require(False, f"whisper-base packages missing: {exc}")
    return load_teacher("whisper-base"), load_teacher("whisper-base", window="clip")


def test_clip_window_equals_30s_window_on_a_30s_clip(teachers):
    padded, clip = teachers
    wav = torch.randn(1, 30 * 16000) * 0.1
    a = padded(wav, layers=[2]).features[2]
    b = clip(wav, layers=[2]).features[2]
    assert a.shape == b.shape
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_clip_window_batch_equals_alone_and_has_its_own_cache_identity(teachers):
    from usad.teachers import teacher_info

    _, clip = teachers
    g = torch.Generator().manual_seed(0)
    wav = torch.randn(2, 3 * 16000, generator=g) * 0.1
    lengths = torch.tensor([3 * 16000, 16000])
    out = clip(wav, lengths, layers=[6])
    alone = clip(wav[1:, :16000], layers=[6])
    n = int(alone.mask.sum())
    assert int(out.mask[1].sum()) == n == 50
    torch.testing.assert_close(out.features[6][1, :n], alone.features[6][0, :n], atol=1e-4, rtol=1e-4)
    assert teacher_info("whisper-base", window="clip") != teacher_info("whisper-base")
    with pytest.raises(ValueError, match="window"):
        load = __import__("usad.teachers", fromlist=["load_teacher"]).load_teacher
        load("whisper-base", window="10s")
