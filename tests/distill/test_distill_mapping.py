import pytest
import torch

from usad.distill.heads import HeadSet, PredictionHead
from usad.distill.mapping import LayerPair, parse_mapping, sparse_mapping


def test_paper_mapping_12_student_24_teacher_k4():
    pairs = sparse_mapping(12, 24, 4)
    assert [(p.student, p.teacher) for p in pairs] == [(3, 6), (6, 12), (9, 18), (12, 24)]


def test_mapping_floor_rule_and_deduplication():
    assert [(p.student, p.teacher) for p in sparse_mapping(12, 6, 4)] == [(3, 1), (6, 3), (9, 4), (12, 6)]
    assert [(p.student, p.teacher) for p in sparse_mapping(2, 2, 4)] == [(1, 1), (2, 2)]


def test_explicit_mappings():
    assert parse_mapping("3:6, 12:24", 12, 24) == [LayerPair(3, 6), LayerPair(12, 24)]
    assert parse_mapping([[1, 2]], 12, 24) == [LayerPair(1, 2)]
    assert parse_mapping("last", 12, 32) == [LayerPair(12, 32)]
    with pytest.raises(ValueError, match="teacher layer must be in 1..6"):
        parse_mapping("3:7", 12, 6)


def test_heads_are_two_layer_mlps_with_teacher_sizes():
    head = PredictionHead(8, 5, 16)
    assert [type(m).__name__ for m in head] == ["Linear", "ReLU", "Linear"] and head.sizes == (8, 5)
    linear = PredictionHead(8, 5, 0)   # heads.hidden: 0 -> the student's features must carry the target linearly
    assert [type(m).__name__ for m in linear] == ["Linear"] and linear.sizes == (8, 5)
    plan = {"t1": [LayerPair(1, 2), LayerPair(2, 4)], "t2": [LayerPair(2, 1)]}
    heads = HeadSet(8, plan, {"t1": {2: 3, 4: 7}, "t2": {1: 5}}, hidden=16)
    assert heads.student_layers() == [1, 2]
    hidden = [torch.randn(2, 4, 8) for _ in range(3)]
    out = heads(hidden)
    assert out["t1"][LayerPair(2, 4)].shape == (2, 4, 7)
    assert out["t2"][LayerPair(2, 1)].shape == (2, 4, 5)
    # the head of pair (1, 2) reads block 1's hidden state
    expected = heads.heads["t1__s1_t2"](hidden[1])
    assert torch.equal(out["t1"][LayerPair(1, 2)], expected)
    with pytest.raises(ValueError, match="no layer 9"):
        HeadSet(8, {"t": [LayerPair(1, 9)]}, {"t": {1: 3}}, hidden=4)
