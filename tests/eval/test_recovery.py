"""Teacher recovery: a teacher layer that is a linear map of the encoder's frames is recovered (R2 ~ 1), noise
is not, and frame rates are aligned before fitting."""
import numpy as np
import torch

from usad.eval.protocol import SplitArrays
from usad.eval.recovery import teacher_recovery
from usad.eval.results import EncoderEntry


def _entry(name, kind):
    return EncoderEntry(name, f"x:{name}", kind, "speech" if kind == "teacher" else None, name, 50.0, 2)


def _split(layers, offsets):
    return SplitArrays(layers, torch.zeros(0), np.asarray(offsets))


def test_linear_teacher_layer_is_recovered_and_noise_is_not():
    g = torch.Generator().manual_seed(0)
    files, T = 12, 100
    offsets = np.arange(files + 1) * T
    x = torch.randn(files * T, 8, generator=g)
    w = torch.randn(8, 5, generator=g)
    teacher = _split({"1": x @ w + 3.0, "2": torch.randn(files * T, 5, generator=g)}, offsets)
    # the teacher at 25 Hz: pairs of encoder frames are averaged before the linear map
    slow = x.view(files * T // 2, 2, 8).mean(1) @ w
    teacher_slow = _split({"1": slow}, offsets // 2)
    student = _split({"0": x, "1": torch.randn(files * T, 4, generator=g)}, offsets)
    rows = teacher_recovery([_entry("s", "student"), _entry("t", "teacher"), _entry("t25", "teacher")],
                            {"s": {"task": (student, 50.0)}, "t": {"task": (teacher, 50.0)},
                             "t25": {"task": (teacher_slow, 25.0)}}, {"task": "speech"})
    got = {(r["teacher"], r["layer"]): r for r in rows}
    assert got[("t", "1")]["r2"] > 0.99 and got[("t", "1")]["cos"] > 0.99
    assert got[("t", "2")]["r2"] < 0.1
    assert got[("t25", "1")]["r2"] > 0.99 and got[("t25", "1")]["frames"] == files * T // 2
    assert all(r["encoder"] == "s" and r["domain"] == "speech" for r in rows)


def test_each_ridge_strength_is_scored_as_if_fitted_and_predicted_on_its_own():
    from usad.eval.recovery import ALPHAS, _inner_r2, _r2, _Ridge

    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 12)) * rng.uniform(0.1, 5.0, 12) + rng.standard_normal(12)
    y = {"a": x[:, :3] @ rng.standard_normal((3, 4)) + 0.5 * rng.standard_normal((300, 4)),
         "b": rng.standard_normal((300, 2))}
    fit = np.arange(300) < 180
    ridge = _Ridge(x[fit])
    got = _inner_r2(ridge, x[~fit], {k: v[fit] for k, v in y.items()}, {k: v[~fit] for k, v in y.items()})
    for k, v in y.items():
        direct = [_r2(v[~fit], ridge.predict(x[~fit], *ridge.weights(v[fit], a))) for a in ALPHAS]
        np.testing.assert_allclose(got[k], direct, rtol=1e-9, atol=1e-9)
    assert max(got["a"]) > 0.5 and max(got["b"]) < 0.1


def test_fewer_frames_than_features_fit_the_same_ridge_through_the_smaller_gram():
    from usad.eval.recovery import ALPHAS, _inner_r2, _r2, _Ridge

    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((30, 50)), rng.standard_normal((30, 3))
    dual = _Ridge(x)
    assert dual.dual
    for alpha in (1e-3, 1.0):
        w, ym = dual.weights(y, alpha)
        z = (x - x.mean(0)) / (x.std(0) + 1e-6)
        direct = np.linalg.solve(z.T @ z + alpha * len(z) * np.eye(50), z.T @ (y - y.mean(0)))
        np.testing.assert_allclose(w, direct, rtol=1e-7, atol=1e-9)
    x_val, y_val = rng.standard_normal((20, 50)), rng.standard_normal((20, 3))
    got = _inner_r2(dual, x_val, {"a": y}, {"a": y_val})["a"]
    np.testing.assert_allclose(got, [_r2(y_val, dual.predict(x_val, *dual.weights(y, a))) for a in ALPHAS],
                               rtol=1e-9, atol=1e-9)
