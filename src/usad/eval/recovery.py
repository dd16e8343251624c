"""Teacher recovery: how much of each teacher layer an encoder holds, frame by frame, on held-out audio.

For every (student or control, teacher) pair probed on a frame-level task, the test files' frames of both are
brought to the slower of the two frame rates (``usad.teachers.align_frames``), and a ridge map from all of the
encoder's layers (concatenated, standardised) to one teacher layer is fitted on half of the files and scored on
the other half, then the halves swap. Reported per teacher layer and task (= domain):

- ``r2``: variance-weighted R-squared (1 - total squared error / total variance around the scored half's mean),
  the share of the teacher layer's frame-to-frame variation the encoder's features determine linearly;
- ``cos``: mean cosine between predicted and true frames (what the distillation loss sees), beside ``cos_floor``,
  the cosine of always predicting the fitted half's mean frame.

The ridge strength is chosen inside the fitted half (two-fold over its files), never on the scored half. This is
low-noise and task-independent: it needs no labels, only audio the encoder was not trained on.

Cost: every ridge strength shares one eigendecomposition, and the inner choice scores each strength from
second moments of the held-out frames in that eigenbasis (``_inner_r2``) instead of fitting and predicting once
per strength; the result is the same fit, only cheaper.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from usad.teachers.align import align_frames, num_frames_at

ALPHAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)   # times the number of fitted frames (features are standardised)
MAX_FRAMES = 40000                       # per half; longer test sets are subsampled (every k-th file)


def _files(split, names: list[str]) -> list[torch.Tensor]:
    x = torch.cat([split.layers[n].float() for n in names], dim=-1)
    return [x[int(a):int(b)] for a, b in zip(split.offsets[:-1], split.offsets[1:])]


def _aligned(enc: list[torch.Tensor], r_enc: float, tea: list[torch.Tensor], r_tea: float):
    """Per file, both sides at the slower rate with equal frame counts -> (X (N, De), Y (N, Dt), file ids (N,))."""
    rate = min(r_enc, r_tea)
    xs, ys, ids = [], [], []
    for f, (a, b) in enumerate(zip(enc, tea)):
        n = min(num_frames_at(len(a), r_enc, rate), num_frames_at(len(b), r_tea, rate))
        if n <= 0 or len(a) == 0 or len(b) == 0:
            continue
        xa, ma = align_frames(a[None], None, r_enc, rate, n)
        yb, mb = align_frames(b[None], None, r_tea, rate, n)
        keep = (ma & mb)[0]
        xs.append(xa[0][keep])
        ys.append(yb[0][keep])
        ids.append(torch.full((int(keep.sum()),), f))
    if not xs:
        return None
    return torch.cat(xs).double().numpy(), torch.cat(ys).double().numpy(), torch.cat(ids).numpy()


class _Ridge:
    """Ridge regression for many alphas and targets from one eigendecomposition of the fitted half's Gram.

    Every solution is ``w = B (u / (s + alpha n))``: with more frames than features (primal) ``Z^T Z = V S V^T``,
    ``B = V`` and ``u = V^T Z^T y_c``; with fewer frames than features (a teacher with one frame per 3 s) the
    smaller ``Z Z^T = U S U^T`` is decomposed instead, ``B = Z^T U`` and ``u = U^T y_c`` (the same ``w``)."""

    def __init__(self, x: np.ndarray) -> None:
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        z = (x - self.mean) / self.std
        self.z, self.n = z, len(z)
        self.dual = z.shape[0] < z.shape[1]
        if self.dual:
            self.s, self.u = np.linalg.eigh(z @ z.T)
            self.basis = z.T @ self.u
        else:
            self.s, self.basis = np.linalg.eigh(z.T @ z)

    def projected(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u, mean of y): the part of every ridge solution that does not depend on the strength."""
        ym = y.mean(0)
        yc = y - ym
        return (self.u.T @ yc if self.dual else self.basis.T @ (self.z.T @ yc)), ym

    def weights(self, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        u, ym = self.projected(y)
        w = self.basis @ (u / (self.s + alpha * self.n)[:, None])
        return w, ym

    def predict(self, x: np.ndarray, w: np.ndarray, ym: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std) @ w + ym


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    sst = float(((y - y.mean(0)) ** 2).sum())
    return float("nan") if sst <= 0 else 1.0 - float(((y - pred) ** 2).sum()) / sst


def _cos(y: np.ndarray, pred: np.ndarray) -> float:
    num = (y * pred).sum(1)
    den = np.linalg.norm(y, axis=1) * np.linalg.norm(pred, axis=1) + 1e-12
    return float((num / den).mean())


def _inner_r2(ridge: _Ridge, x_val: np.ndarray, ys_fit: dict[str, np.ndarray], ys_val: dict[str, np.ndarray],
              alphas=ALPHAS) -> dict[str, list[float]]:
    """R-squared on ``x_val`` of the ridge fitted by ``ridge`` for every strength and target, equal to predicting
    with each strength's weights: with P = Z_val B and c = u / (s + alpha n), the residual sum of squares is
    |y_c|^2 - 2 <c, P^T y_c> + <c, P^T P c> (y_c: the held-out targets less the fitted mean)."""
    p = ((x_val - ridge.mean) / ridge.std) @ ridge.basis
    ptp = p.T @ p
    out = {}
    for k, y_fit in ys_fit.items():
        y = ys_val[k]
        u, ym = ridge.projected(y_fit)
        yc = y - ym
        pty, yy = p.T @ yc, float((yc ** 2).sum())
        sst = float(((y - y.mean(0)) ** 2).sum())
        scores = []
        for a in alphas:
            c = u / (ridge.s + a * ridge.n)[:, None]
            sse = yy - 2.0 * float((c * pty).sum()) + float((c * (ptp @ c)).sum())
            scores.append(float("nan") if sst <= 0 else 1.0 - sse / sst)
        out[k] = scores
    return out


def _recover(x: np.ndarray, ys: dict[str, np.ndarray], ids: np.ndarray) -> dict[str, dict]:
    """Two-fold over files for every target ``ys[layer]``: fit on one half, score on the other; averaged. The
    ridge strength is chosen per target by a two-fold split of the fitted half's files."""
    half = ids % 2 == 0
    got: dict[str, dict[str, list[float]]] = {k: {"r2": [], "cos": [], "cos_floor": []} for k in ys}
    for fit in (half, ~half):
        if fit.all() or not fit.any():
            continue
        xf, idf, xs = x[fit], ids[fit], x[~fit]
        yfs = {k: y[fit] for k, y in ys.items()}
        inner = (idf // 2) % 2 == 0
        inner_scores = {}
        if inner.any() and not inner.all():
            inner_scores = _inner_r2(_Ridge(xf[inner]), xf[~inner], {k: yf[inner] for k, yf in yfs.items()},
                                     {k: yf[~inner] for k, yf in yfs.items()})
        ridge = _Ridge(xf)
        for k, y in ys.items():
            alpha = 1e-2
            scores = inner_scores.get(k)
            if scores is not None and not all(np.isnan(scores)):
                alpha = ALPHAS[int(np.nanargmax(scores))]
            w, ym = ridge.weights(yfs[k], alpha)
            pred, ys_ = ridge.predict(xs, w, ym), y[~fit]
            got[k]["r2"].append(_r2(ys_, pred))
            got[k]["cos"].append(_cos(ys_, pred))
            got[k]["cos_floor"].append(_cos(ys_, np.broadcast_to(ym, ys_.shape)))
    return {k: {m: float(np.mean(v)) for m, v in d.items()} | {"frames": int(len(x))}
            for k, d in got.items() if d["r2"]}


def teacher_recovery(encoders, frame_tests: dict[str, dict[str, tuple]], task_domains: dict[str, str],
                     log: Callable[[str], None] | None = None) -> list[dict]:
    """Rows {encoder, teacher, layer, task, domain, r2, cos, cos_floor, frames} for every non-teacher encoder and
    teacher that were both probed on a frame-level task (``frame_tests[encoder][task] = (test split, rate)``).
    ``log`` gets one line per (encoder, teacher, task) fitted, with its size and time."""
    teachers = [e for e in encoders if e.kind == "teacher"]
    others = [e for e in encoders if e.kind != "teacher"]
    rows = []
    for task, domain in task_domains.items():
        for t in teachers:
            if task not in frame_tests.get(t.name, {}):
                continue
            t_split, t_rate = frame_tests[t.name][task]
            layers = list(t_split.layers)
            dims = np.cumsum([0] + [int(t_split.layers[l].shape[-1]) for l in layers])
            frames = int(t_split.offsets[-1]) * 50.0 / max(t_rate, 1e-9)   # at a 50 Hz student
            step = max(1, int(np.ceil(frames / (2 * MAX_FRAMES))))
            tea = _files(t_split, layers)[::step]
            for e in others:
                if task not in frame_tests.get(e.name, {}):
                    continue
                e_split, e_rate = frame_tests[e.name][task]
                if e_split.num_items != t_split.num_items:
                    continue
                al = _aligned(_files(e_split, list(e_split.layers))[::step], e_rate, tea, t_rate)
                if al is None:
                    continue
                x, y, ids = al
                t0 = time.perf_counter()
                got = _recover(x, {l: y[:, dims[i]:dims[i + 1]] for i, l in enumerate(layers)}, ids)
                if log:
                    log(f"[recovery] {e.name} -> {t.name} on {task}: {len(layers)} layer(s), {len(x)} frames x "
                        f"{x.shape[1]} features, {time.perf_counter() - t0:.0f} s")
                rows += [{"encoder": e.name, "teacher": t.name, "layer": l, "task": task, "domain": domain, **v}
                         for l, v in got.items()]
    return rows
