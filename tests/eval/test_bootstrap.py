import numpy as np
import pytest

from usad.eval.bootstrap import ItemScores, interval, replicates, verdict
from usad.eval.metrics import item_scores, score, sequence_item_scores


def _acc_items(correct):
    c = np.asarray(correct, dtype=float)
    return ItemScores(len(c), np.stack([c, np.ones_like(c)], 1), lambda s: s[0] / s[1])


def test_item_scores_reproduce_the_metric_on_the_whole_split():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((50, 4))
    y = rng.integers(0, 4, 50)
    assert item_scores("top1_acc", logits, y).score() == pytest.approx(score("top1_acc", logits, y))
    multi = (rng.random((50, 4)) > 0.6).astype(float)
    assert item_scores("mAP", logits, multi).score() == pytest.approx(score("mAP", logits, multi))
    frames = rng.standard_normal((300, 3))
    ft = (rng.random((300, 3)) > 0.7).astype(float)
    offsets = np.array([0, 100, 180, 300])
    for m in ("frame_f1", "event_onset_200ms_fms"):
        got = item_scores(m, frames, ft, offsets, 50.0)
        assert got.n_items == 3 and 0.0 <= got.score() <= 1.0
    per = sequence_item_scores([[1, 2, 3], [4]], [[1, 2, 3, 4], [4, 4]])   # 1 + 1 edits over 6 tokens
    assert per.score() == pytest.approx(1 - 2 / 6)


def test_interval_covers_the_score_and_narrows_with_more_items():
    rng = np.random.default_rng(1)
    widths = []
    for n in (30, 300, 3000):
        items = _acc_items(rng.random(n) < 0.7)
        lo, hi = interval(replicates(f"t{n}", [[items]]))
        assert lo <= items.score() <= hi
        widths.append(hi - lo)
    assert widths[0] > 2 * widths[1] > 4 * widths[2]
    # ~ the normal approximation: 30 items at 70% -> +-16 points
    assert 0.2 < widths[0] < 0.45


def test_replicates_are_paired_across_encoders():
    rng = np.random.default_rng(2)
    base = rng.random(200) < 0.6
    better = base.copy()
    better[:20] = True                        # the same items, 20 more right
    ra = replicates("task", [[_acc_items(better)]])
    rb = replicates("task", [[_acc_items(base)]])
    assert np.all(ra - rb >= 0)               # same resampled items in every replicate
    lo, hi = interval(ra - rb)
    assert lo >= 0 and hi <= 0.2


def test_kfold_replicates_resample_folds_and_items():
    rng = np.random.default_rng(3)
    folds = [[_acc_items(rng.random(40) < p)] for p in (0.2, 0.5, 0.9)]
    reps = replicates("kfold", folds)
    lo, hi = interval(reps)
    # fold-to-fold spread dominates: the interval is much wider than the item-only one of one fold
    one = interval(replicates("kfold1", [folds[1]]))
    assert hi - lo > one[1] - one[0]
    assert lo < np.mean([f[0].score() for f in folds]) < hi


def test_verdict_needs_non_overlapping_intervals():
    d = np.ones(10)
    assert verdict(d, (0.5, 0.6), (0.55, 0.7)) == "not distinguishable"
    assert verdict(d, (0.7, 0.8), (0.5, 0.6)) == "higher"
    assert verdict(-d, (0.1, 0.2), (0.5, 0.6)) == "lower"
