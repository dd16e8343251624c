"""align_frames: the one frame-rate mapping between teachers and students."""
import math

import pytest
import torch

from usad.teachers.align import align_frames

TEACHER_RATES = [100.0, 86.13, 62.5, 50.0, 31.25, 25.0]
STUDENT_RATES = [50.0, 25.0]


def _ramp(rate: float, seconds: float, B: int = 2, D: int = 3):
    T = int(math.ceil(seconds * rate))
    x = torch.arange(T, dtype=torch.float64)[None, :, None].repeat(B, 1, D)
    return x / rate, T  # value = start time of the frame in seconds


@pytest.mark.parametrize("src", TEACHER_RATES)
@pytest.mark.parametrize("dst", STUDENT_RATES)
def test_shapes_and_ramp(src, dst):
    seconds = 2.0
    x, T = _ramp(src, seconds)
    n = int(seconds * dst)
    y, m = align_frames(x, torch.ones(2, T, dtype=torch.bool), src, dst, n)
    assert y.shape == (2, n, 3) and m.shape == (2, n)
    assert m[:, : n - 1].all()
    # frame j at dst is centred at (j+0.5)/dst; the source ramp holds frame-start times, i.e. centre - 0.5/src
    j = torch.arange(n, dtype=torch.float64)
    expect = (j + 0.5) / dst - 0.5 / src
    if src < dst and (dst / src) % 1 == 0:  # integer up-ratio: repeat (nearest frame)
        expect = torch.floor(j * src / dst) / src
    inner = slice(1, n - 1)
    assert torch.allclose(y[0, inner, 0], expect[inner], atol=1e-6), (y[0, :6, 0], expect[:6])


@pytest.mark.parametrize("src", TEACHER_RATES)
@pytest.mark.parametrize("dst", STUDENT_RATES)
def test_padding_never_leaks(src, dst):
    x, T = _ramp(src, 2.0)
    valid = T // 2
    mask = torch.zeros(2, T, dtype=torch.bool)
    mask[:, :valid] = True
    poisoned = x.clone()
    poisoned[:, valid:] = 1e6  # anything from the padding would show up
    n = int(2.0 * dst)
    y, m = align_frames(poisoned, mask, src, dst, n)
    y_ref, m_ref = align_frames(x[:, :valid], None, src, dst, n)
    assert (y.abs() < 1e5).all()
    assert torch.equal(m, m_ref)
    assert torch.allclose(y, y_ref)
    assert not m[:, -1].any()
    assert (y[~m] == 0).all()
    # the valid region covers about the valid duration
    assert abs(int(m[0].sum()) - valid * dst / src) <= 1.0


def test_pooling_excludes_masked_frames_inside_a_window():
    x = torch.tensor([[[1.0], [3.0], [100.0], [5.0]]])
    mask = torch.tensor([[True, True, False, True]])
    y, m = align_frames(x, mask, 100.0, 50.0, 2)
    assert torch.allclose(y[0, :, 0], torch.tensor([2.0, 5.0]))
    assert m.all()


def test_off_by_one_crop_and_pad():
    x = torch.randn(1, 10, 4)
    y, m = align_frames(x, None, 50.0, 50.0, 9)  # one extra frame: cropped
    assert torch.equal(y, x[:, :9]) and m.all()
    y, m = align_frames(x, None, 50.0, 50.0, 12)  # missing frames: zero, masked
    assert torch.equal(y[:, :10], x) and m[:, :10].all() and not m[:, 10:].any()
    assert (y[:, 10:] == 0).all()


def test_repeat_for_integer_up_ratio():
    x = torch.tensor([[[1.0], [2.0]]])
    y, m = align_frames(x, None, 25.0, 50.0, 4)
    assert torch.equal(y[0, :, 0], torch.tensor([1.0, 1.0, 2.0, 2.0])) and m.all()


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="mask shape"):
        align_frames(torch.zeros(1, 3, 2), torch.ones(1, 4, dtype=torch.bool), 50, 25, 2)
