import pytest
import torch

from usad.distill.weights import domain_weights


def test_paper_rule_with_three_experts():
    w = domain_weights(["speech", "sound", "music"], ["speech", "music", None], omega=10)
    # in-domain omega / (omega + M - 1) = 10/12, others 1/12; unknown domain 1/3 each
    expected = torch.tensor([[10 / 12, 1 / 12, 1 / 12], [1 / 12, 1 / 12, 10 / 12], [1 / 3, 1 / 3, 1 / 3]])
    assert torch.allclose(w, expected, atol=1e-7)


def test_omega_one_is_uniform():
    w = domain_weights(["speech", "music"], ["speech", "music"], omega=1)
    assert torch.allclose(w, torch.full((2, 2), 0.5))


def test_any_teacher_neutral_policy_is_a_constant_raw_weight():
    w = domain_weights(["speech", "any"], ["speech", "sound", "music"], omega=10, any_policy="neutral")
    assert torch.allclose(w[0], torch.tensor([10 / 11, 1 / 11]))
    assert torch.allclose(w[1], torch.tensor([0.5, 0.5]))  # no expert for sound -> uniform
    assert torch.allclose(w[2], torch.tensor([0.5, 0.5]))


def test_any_teacher_expert_policy_is_in_domain_everywhere():
    w = domain_weights(["speech", "any"], ["speech", "sound", None], omega=10, any_policy="expert")
    assert torch.allclose(w[0], torch.tensor([0.5, 0.5]))
    assert torch.allclose(w[1], torch.tensor([1 / 11, 10 / 11]))
    assert torch.allclose(w[2], torch.tensor([0.5, 0.5]))


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="omega"):
        domain_weights(["speech"], ["speech"], omega=0)
    with pytest.raises(ValueError, match="any_policy"):
        domain_weights(["speech"], ["speech"], any_policy="sometimes")
