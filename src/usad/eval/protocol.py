"""The probing protocol: a fixed learning-rate grid and seeds; choose on valid, report on test.

For one task and one encoder it scores (a) every layer alone and (b) the learned softmax-weighted sum of all
layers, each with the configured probe kinds. The headline score of a task is the weighted-sum probe whose kind and
learning rate are best on the validation split (mean over seeds), reported as its mean test score over seeds.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from usad.eval.metrics import score
from usad.eval.probes import ProbeConfig, train_probe


@dataclass
class ProbeProtocol:
    lrs: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    seeds: tuple[int, ...] = (0, 1)
    probes: tuple[str, ...] = ("linear", "mlp")      # for the weighted sum of layers (headline)
    per_layer_probes: tuple[str, ...] = ("linear",)  # per-layer curve: linear only by default (cost)
    per_layer_seeds: int = 1                         # first n seeds for the per-layer curve
    hidden: int = 256
    max_steps: int = 400
    eval_every: int = 10
    patience: int = 6
    batch_size: int = 4096

    def probe_config(self, kind: str, lr: float, seed: int) -> ProbeConfig:
        return ProbeConfig(kind=kind, lr=lr, seed=seed, hidden=self.hidden, max_steps=self.max_steps,
                           eval_every=self.eval_every, patience=self.patience, batch_size=self.batch_size)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SplitArrays:
    """Cached features of one split. layers[name]: (N, D_l); target: (N,) long or (N, C) float multi-hot;
    offsets: (F + 1,) file boundaries into the N frames (event tasks only)."""

    layers: dict[str, torch.Tensor]
    target: torch.Tensor
    offsets: np.ndarray | None = None


@dataclass
class TaskArrays:
    name: str
    domain: str
    embedding_type: str        # "scene" | "event"
    prediction_type: str       # "multiclass" | "multilabel"
    num_classes: int
    metric: str
    frame_rate: float | None
    splits: dict[str, SplitArrays]

    @property
    def multilabel(self) -> bool:
        return self.prediction_type == "multilabel"


@dataclass
class Fit:
    """Selected setting and its scores (mean and std over seeds)."""

    probe: str
    lr: float
    valid: float
    test: float
    test_std: float
    layer_weights: list[float] | None = None


@dataclass
class TaskResult:
    task: str
    domain: str
    metric: str
    headline: Fit
    weighted: dict[str, Fit]                      # probe kind -> best-lr fit of the weighted sum
    per_layer: dict[str, list[Fit]]               # probe kind -> one fit per layer (order of ``layers``)
    layers: list[str]
    weighted_layers: list[str]
    extra: dict = field(default_factory=dict)


def weighted_layer_names(layers: dict[str, torch.Tensor]) -> list[str]:
    """Layers of the most common width (a weighted sum needs one width); ties go to the larger width."""
    dims = Counter(int(v.shape[-1]) for v in layers.values())
    dim = max(dims, key=lambda d: (dims[d], d))
    return [k for k, v in layers.items() if int(v.shape[-1]) == dim]


def _fit_grid(task: TaskArrays, names: list[str], kind: str, protocol: ProbeProtocol,
              seeds: tuple[int, ...]) -> Fit:
    """Train kind on the named layers (one -> (N, D), several -> (N, L, D) weighted) for every lr and seed."""
    tr, va, te = (task.splits[s] for s in ("train", "valid", "test"))

    def stack(split: SplitArrays) -> torch.Tensor:
        return split.layers[names[0]] if len(names) == 1 else torch.stack([split.layers[n] for n in names], 1)

    xt, xv, xe = stack(tr), stack(va), stack(te)

    def metric(logits: np.ndarray, split: SplitArrays) -> float:
        try:
            return score(task.metric, logits, split.target.numpy(), split.offsets, task.frame_rate)
        except ValueError as exc:
            raise ValueError(f"task {task.name!r}: cannot compute {task.metric}: {exc}") from exc

    best: Fit | None = None
    for lr in protocol.lrs:
        valids, tests, weights = [], [], []
        for seed in seeds:
            tp = train_probe(xt, tr.target, xv, va.target, task.num_classes, task.multilabel,
                             protocol.probe_config(kind, lr, seed))
            valids.append(metric(tp.predict(xv), va))
            tests.append(metric(tp.predict(xe), te))
            weights.append(tp.probe.layer_weights())
        w = None if weights[0] is None else np.mean(np.array(weights), axis=0).tolist()
        fit = Fit(kind, lr, float(np.mean(valids)), float(np.mean(tests)), float(np.std(tests)), w)
        if best is None or fit.valid > best.valid:
            best = fit
    assert best is not None
    return best


def evaluate_task(task: TaskArrays, protocol: ProbeProtocol | None = None) -> TaskResult:
    """Per-layer and weighted-sum probes for one task's cached features of one encoder."""
    protocol = protocol or ProbeProtocol()
    for s in ("train", "valid", "test"):
        if s not in task.splits or len(task.splits[s].target) == 0:
            raise ValueError(f"task {task.name!r}: split {s!r} is missing or empty")
    if not task.multilabel and task.embedding_type == "scene":
        if len(torch.unique(task.splits["train"].target)) < 2:
            raise ValueError(f"task {task.name!r}: the training split has a single class; a probe needs at "
                             "least two classes (add files of other classes or drop the task)")
    layers = list(task.splits["train"].layers)
    wnames = weighted_layer_names(task.splits["train"].layers)
    layer_seeds = tuple(protocol.seeds[: max(1, protocol.per_layer_seeds)])
    per_layer = {k: [_fit_grid(task, [n], k, protocol, layer_seeds) for n in layers]
                 for k in protocol.per_layer_probes}
    weighted = {k: _fit_grid(task, wnames, k, protocol, tuple(protocol.seeds)) for k in protocol.probes}
    headline = max(weighted.values(), key=lambda f: f.valid)
    return TaskResult(task.name, task.domain, task.metric, headline, weighted, per_layer, layers, wnames)
