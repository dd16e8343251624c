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


def test_layer_weights_favour_the_informative_layer():
    xt, yt = _blobs(300, 8, 3, 0)
    xv, yv = _blobs(100, 8, 3, 1)
    noise_t, noise_v = torch.randn(300, 8), torch.randn(100, 8)
    # layer 1 carries the classes, layers 0 and 2 are noise
    Xt = torch.stack([noise_t, xt, noise_t.flip(0)], 1)
    Xv = torch.stack([noise_v, xv, noise_v.flip(0)], 1)
    tp = train_probe(Xt, yt, Xv, yv, 3, False, ProbeConfig(lr=3e-2, max_steps=300, patience=30))
    w = tp.probe.layer_weights()
    assert abs(sum(w) - 1) < 1e-5 and int(np.argmax(w)) == 1


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
