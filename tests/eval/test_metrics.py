import numpy as np
import pytest

from usad.eval.metrics import (accuracy, event_onset_f1, frame_f1, mean_average_precision, pick_metric, score)


def test_accuracy_counts_argmax_hits():
    s = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    assert accuracy(s, np.array([0, 1, 1])) == pytest.approx(2 / 3)


def test_map_is_one_for_perfect_ranking_and_skips_labels_without_positives():
    t = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    assert mean_average_precision(t.astype(float), t) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no label"):
        mean_average_precision(np.zeros((2, 2)), np.zeros((2, 2)))


def test_frame_f1_micro():
    probs = np.array([[0.9, 0.1], [0.8, 0.9], [0.1, 0.1]])
    target = np.array([[1, 0], [0, 1], [0, 1]])
    # tp=2 (0,0),(1,1); fp=1 (1,0); fn=1 (2,1)
    assert frame_f1(probs, target) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))


def test_onset_f1_matches_within_200ms_only():
    rate = 10.0  # 100 ms frames
    target = np.zeros((20, 1))
    target[5:10] = 1  # onset 0.5 s
    near = np.zeros((20, 1)); near[6:9] = 1   # onset 0.6 s: within collar
    far = np.zeros((20, 1)); far[9:12] = 1    # onset 0.9 s: outside
    offsets = np.array([0, 20])
    assert event_onset_f1(near, target, offsets, rate) == pytest.approx(1.0)
    assert event_onset_f1(far, target, offsets, rate) == pytest.approx(0.0)


def test_metric_choice_follows_task_type_and_metadata():
    assert pick_metric("scene", "multiclass") == "top1_acc"
    assert pick_metric("scene", "multilabel") == "mAP"
    assert pick_metric("event", "multilabel") == "frame_f1"
    assert pick_metric("event", "multiclass") == "frame_acc"
    assert pick_metric("event", "multilabel", ["event_onset_200ms_fms", "segment_1s_er"]) == "event_onset_200ms_fms"
    # a metadata metric that does not fit the task type is ignored
    assert pick_metric("scene", "multiclass", ["mAP"]) == "top1_acc"
    with pytest.raises(ValueError, match="unknown metric"):
        score("bogus", np.zeros((1, 1)), np.zeros(1))
