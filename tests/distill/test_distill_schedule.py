import pytest

from usad.distill.trainer import lr_factor


def test_warmup_then_linear_decay_to_zero_at_max_steps():
    assert [lr_factor(s, 2, 10) for s in range(11)] == pytest.approx(
        [0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0])


def test_wall_clock_budget_decays_by_whichever_progress_is_further():
    assert lr_factor(5, 2, 1000, time_fraction=0.5) == pytest.approx(0.5)
    assert lr_factor(900, 0, 1000, time_fraction=0.5) == pytest.approx(0.1)
    assert lr_factor(5, 2, 1000, time_fraction=1.2) == 0.0
    assert lr_factor(0, 4, 1000, time_fraction=0.9) == pytest.approx(0.25)   # warm-up is by steps
