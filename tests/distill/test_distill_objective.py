import pytest
import torch

from usad.distill.loss import l1_cos_loss
from usad.distill.mapping import LayerPair
from usad.distill.objective import align_pair, multi_teacher_loss
from usad.teachers import TeacherOutput


def test_slower_teacher_gets_mean_pooled_student_predictions():
    pred = torch.arange(8, dtype=torch.float32).view(1, 4, 2)     # 50 Hz, 4 frames
    target = torch.zeros(1, 2, 2)                                  # 25 Hz, 2 frames
    p, z, m = align_pair(pred, torch.ones(1, 4, dtype=torch.bool), 50.0, target,
                         torch.ones(1, 2, dtype=torch.bool), 25.0)
    assert torch.allclose(p, torch.tensor([[[1.0, 2.0], [5.0, 6.0]]]))
    assert p.shape == z.shape and m.all()


def test_faster_teacher_targets_are_pooled_to_the_student_rate_and_masks_combine():
    pred = torch.zeros(1, 3, 1)
    target = torch.arange(6, dtype=torch.float32).view(1, 6, 1)    # 100 Hz
    tmask = torch.tensor([[True, True, True, True, False, False]])
    smask = torch.tensor([[True, True, True]])
    p, z, m = align_pair(pred, smask, 50.0, target, tmask, 100.0)
    assert z[0, :2, 0].tolist() == [0.5, 2.5]
    assert m.tolist() == [[True, True, False]]


def test_multi_teacher_loss_is_domain_weighted_sum_over_teachers():
    torch.manual_seed(0)
    pa, pb = LayerPair(1, 1), LayerPair(1, 2)
    preds = {"a": {pa: torch.randn(2, 4, 3)}, "b": {pa: torch.randn(2, 4, 5), pb: torch.randn(2, 4, 5)}}
    smask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    ta = TeacherOutput({1: torch.randn(2, 4, 3)}, smask.clone(), 50.0)
    tb = TeacherOutput({1: torch.randn(2, 4, 5), 2: torch.randn(2, 4, 5)}, smask.clone(), 50.0)
    w = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    res = multi_teacher_loss(preds, smask, 50.0, {"a": ta, "b": tb}, w, ["a", "b"])
    expected = (l1_cos_loss(preds["a"][pa], ta.features[1], smask, w[:, 0])
                + (l1_cos_loss(preds["b"][pa], tb.features[1], smask, w[:, 1])
                   + l1_cos_loss(preds["b"][pb], tb.features[2], smask, w[:, 1])) / 2)
    assert res.loss.item() == pytest.approx(expected.item(), abs=1e-6)
    assert res.per_teacher["a"] == pytest.approx(l1_cos_loss(preds["a"][pa], ta.features[1], smask).item(),
                                                 abs=1e-6)
