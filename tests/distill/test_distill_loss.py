import math

import pytest
import torch

from usad.distill.loss import l1_cos_frames, l1_cos_loss


def test_loss_matches_hand_computed_values():
    pred = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    target = torch.tensor([[[1.0, 0.0], [-1.0, -1.0]]])
    mask = torch.tensor([[True, True]])
    # frame 0: identical -> l1 0, cos 1 ; frame 1: opposite -> l1 mean(|2|,|2|) = 2, cos -1
    f0 = 0.0 - math.log(1 / (1 + math.exp(-1.0)))
    f1 = 2.0 - math.log(1 / (1 + math.exp(1.0)))
    frames = l1_cos_frames(pred, target)
    assert frames[0, 0].item() == pytest.approx(f0, abs=1e-6)
    assert frames[0, 1].item() == pytest.approx(f1, abs=1e-6)
    assert l1_cos_loss(pred, target, mask).item() == pytest.approx((f0 + f1) / 2, abs=1e-6)


def test_frame_weight_scales_each_sample():
    pred = torch.tensor([[[1.0, 2.0]], [[0.0, 1.0]]])
    target = torch.tensor([[[0.0, 2.0]], [[1.0, 1.0]]])
    mask = torch.ones(2, 1, dtype=torch.bool)
    per = l1_cos_frames(pred, target)[:, 0]
    w = torch.tensor([0.25, 0.75])
    expected = (0.25 * per[0] + 0.75 * per[1]) / 2
    assert l1_cos_loss(pred, target, mask, w).item() == pytest.approx(expected.item(), abs=1e-6)


def test_padding_never_leaks_into_loss_or_gradients():
    torch.manual_seed(0)
    pred = torch.randn(2, 5, 4, requires_grad=True)
    target = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    loss = l1_cos_loss(pred, target, mask)
    loss.backward()
    grad = pred.grad.clone()
    # garbage (even NaN/Inf) in padded frames changes nothing
    pred2 = pred.detach().clone()
    pred2[0, 3:] = float("nan")
    target2 = target.clone()
    target2[0, 3:] = float("inf")
    pred2.requires_grad_(True)
    loss2 = l1_cos_loss(pred2, target2, mask)
    loss2.backward()
    assert torch.isfinite(loss2)
    assert loss2.item() == pytest.approx(loss.item(), abs=1e-6)
    assert torch.all(pred2.grad[0, 3:] == 0)
    assert torch.allclose(pred2.grad[:, :3], grad[:, :3])
    # and the average runs over the 8 valid frames only
    per = l1_cos_frames(pred.detach(), target)
    assert loss.item() == pytest.approx(per[mask].mean().item(), abs=1e-6)


def test_all_padded_batch_is_an_error_not_nan():
    with pytest.raises(ValueError, match="no valid frame"):
        l1_cos_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), torch.zeros(1, 2, dtype=torch.bool))


def test_shape_mismatch_names_the_fix():
    with pytest.raises(ValueError, match="align"):
        l1_cos_loss(torch.zeros(1, 3, 2), torch.zeros(1, 2, 2), torch.ones(1, 3, dtype=torch.bool))
