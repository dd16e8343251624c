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


def test_student_lr_scale_slows_only_the_pretrained_weights():
    import torch

    from usad.distill.config import OptimConfig
    from usad.distill.heads import HeadSet
    from usad.distill.mapping import LayerPair
    from usad.distill.student import DistillModel, param_groups
    from usad.model import Encoder

    student = Encoder.from_preset("small", num_layers=2, dim=32, num_heads=2)
    student.pretrained_names = frozenset(n for n, _ in student.named_parameters() if n.startswith("blocks."))
    model = DistillModel(student, HeadSet(32, {"t": [LayerPair(2, 1)]}, {"t": {1: 8}}, hidden=0))
    fast, slow = param_groups(model, OptimConfig(lr=1e-3, student_lr_scale=0.1))
    assert fast["lr"] == 1e-3 and slow["lr"] == pytest.approx(1e-4)
    assert {id(p) for p in slow["params"]} == {id(p) for p in student.blocks.parameters()}
    random_start = {id(p) for p in model.heads.parameters()} | {id(p) for n, p in student.named_parameters()
                                                               if not n.startswith("blocks.")}
    assert {id(p) for p in fast["params"]} == random_start
    wrapped = torch.nn.Sequential(model)   # names under a wrapper ("0.student.*") are matched too
    assert len(param_groups(wrapped, OptimConfig(student_lr_scale=0.5))[1]["params"]) == len(slow["params"])
    only_new = param_groups(model, OptimConfig(student_lr_scale=0.0))
    assert len(only_new) == 1 and not any(p.requires_grad for p in student.blocks.parameters())
