import numpy as np
import torch

from usad.eval.layer_weights import LayerWeightedSum
from usad.eval.probes import ProbeConfig, Standardizer, train_probe
from usad.eval.protocol import ProbeProtocol, SplitArrays, TaskArrays, evaluate_task


def _blobs(n, dim, classes, seed, shift=3.0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    centres = torch.randn(classes, dim, generator=torch.Generator().manual_seed(99)) * shift
    return centres[y] + torch.randn(n, dim, generator=g), y


def test_standardizer_uses_train_statistics():
    x = torch.randn(100, 4) * 5 + 7
    s = Standardizer(x)
    z = s(x)
    assert torch.allclose(z.mean(0), torch.zeros(4), atol=1e-4)
    assert torch.allclose(s(torch.full((1, 4), 7.0)), (7.0 - s.mean) / s.std)


def test_linear_and_mlp_probes_learn_separable_classes():
    xt, yt = _blobs(200, 8, 3, 0)
    xv, yv = _blobs(60, 8, 3, 1)
    for kind in ("linear", "mlp"):
        tp = train_probe(xt, yt, xv, yv, 3, False, ProbeConfig(kind=kind, lr=1e-2, max_steps=200))
        acc = (tp.predict(xv).argmax(1) == yv.numpy()).mean()
        assert acc > 0.9, kind


def test_layer_weights_find_the_one_informative_layer_at_the_default_learning_rate():
    xt, yt = _blobs(300, 8, 3, 0, shift=1.0)
    xv, yv = _blobs(100, 8, 3, 1, shift=1.0)
    # layer 5 of 8 carries the classes, the others are noise of a larger scale
    Xt = torch.randn(300, 8, 8) * 3
    Xv = torch.randn(100, 8, 8) * 3
    Xt[:, 5], Xv[:, 5] = xt, xv
    tp = train_probe(Xt, yt, Xv, yv, 3, False, ProbeConfig())   # lr 1e-3 for the head, weights at their own rate
    w = tp.probe.layer_weights()
    assert abs(sum(w) - 1) < 1e-5 and int(np.argmax(w)) == 5 and w[5] > 0.8
    # at the head's learning rate (the old behaviour) the weights barely leave uniform
    slow = train_probe(Xt, yt, Xv, yv, 3, False, ProbeConfig(weights_lr=1e-3)).probe.layer_weights()
    assert slow[5] < 0.5


def test_headline_is_never_below_the_best_single_layer_on_valid():
    xt, yt = _blobs(200, 6, 2, 0, shift=1.0)
    xv, yv = _blobs(80, 6, 2, 1, shift=1.0)
    xe, ye = _blobs(80, 6, 2, 2, shift=1.0)
    noisy = lambda x: {"0": torch.randn(len(x), 6) * 4, "1": x, "2": torch.randn(len(x), 6) * 4}  # noqa: E731
    splits = {s: SplitArrays(noisy(x), y) for s, (x, y) in zip(("train", "valid", "test"),
                                                                ((xt, yt), (xv, yv), (xe, ye)))}
    task = TaskArrays("one_layer", "sound", "scene", "multiclass", 2, "top1_acc", None, splits)
    r = evaluate_task(task, ProbeProtocol(lrs=(1e-3,), seeds=(0,), max_steps=100))
    best_layer = max(r.per_layer["linear"], key=lambda f: f.valid)
    assert r.headline.valid >= best_layer.valid and r.headline.valid >= max(f.valid for f in r.weighted.values())
    assert r.headline.items and r.headline.items[0][0].n_items == 80


def test_weighted_sum_rejects_wrong_layer_count():
    m = LayerWeightedSum(3)
    try:
        m(torch.zeros(2, 4, 5))
    except ValueError as e:
        assert "(N, 3, D)" in str(e)
    else:
        raise AssertionError("expected ValueError")


def _task(layers_fn, n=(120, 40, 40)):
    splits = {}
    for s, (k, seed) in zip(("train", "valid", "test"), zip(n, (0, 1, 2))):
        x, y = _blobs(k, 6, 2, seed)
        splits[s] = SplitArrays(layers_fn(x), y)
    return TaskArrays("blobs", "sound", "scene", "multiclass", 2, "top1_acc", None, splits)


def test_protocol_picks_on_valid_reports_test_and_saves_weights():
    task = _task(lambda x: {"0": torch.randn(len(x), 6), "1": x, "2": x + torch.randn(len(x), 6)})
    proto = ProbeProtocol(lrs=(1e-3, 1e-2), seeds=(0, 1), max_steps=60)
    r = evaluate_task(task, proto)
    assert r.layers == ["0", "1", "2"] and r.weighted_layers == ["0", "1", "2"]
    assert set(r.weighted) == {"linear", "mlp"} and len(r.per_layer["linear"]) == 3
    assert r.headline.test > 0.9 and r.headline.lr in (1e-3, 1e-2)
    assert r.per_layer["linear"][1].test > r.per_layer["linear"][0].test  # informative layer beats noise
    assert len(r.headline.layer_weights) == 3


def test_protocol_weighted_sum_uses_layers_of_the_common_width():
    task = _task(lambda x: {"a": x, "b": x * 2, "c": torch.randn(len(x), 3)})
    r = evaluate_task(task, ProbeProtocol(lrs=(1e-2,), seeds=(0,), probes=("linear",), max_steps=50))
    assert r.weighted_layers == ["a", "b"] and len(r.per_layer["linear"]) == 3
