"""The probing protocol: a fixed learning-rate grid and seeds; choose on valid, report on test.

For one task and one encoder it scores (a) every layer alone and (b) the learned softmax-weighted sum of all
layers (each layer standardised, the weights with their own learning rate), with the configured probe kinds.
The headline of a task is whichever of the weighted-sum fits and the best single layer is best on the
validation split (mean over seeds), reported as its mean test score over seeds, so the headline is never below
the best single layer on valid. Sequence tasks (phonemes) use a linear CTC probe (``usad.eval.ctc``).

Every fit keeps per-item test statistics (``ItemScores``) so the suite can bootstrap its score.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

from usad.eval.bootstrap import ItemScores
from usad.eval.ctc import CTCConfig, SequenceSplit, train_ctc_per_layer, train_ctc_probe
from usad.eval.metrics import item_scores, sequence_item_scores
from usad.eval.probes import ProbeConfig, train_probe


@dataclass
class ProbeProtocol:
    lrs: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    seeds: tuple[int, ...] = (0, 1, 2)
    probes: tuple[str, ...] = ("linear", "mlp")      # for the weighted sum of layers
    per_layer_probes: tuple[str, ...] = ("linear",)  # per-layer curve: linear only by default (cost)
    per_layer_seeds: int = 1                         # first n seeds for the per-layer curve
    hidden: int = 256
    max_steps: int = 600
    eval_every: int = 10
    patience: int = 8
    batch_size: int = 4096
    weights_lr: float = 0.02                         # Adam rate of the layer-weight logits
    ctc_steps: int = 1500                            # sequence tasks: CTC probe steps (16 files each)

    def probe_config(self, kind: str, lr: float, seed: int) -> ProbeConfig:
        return ProbeConfig(kind=kind, lr=lr, seed=seed, hidden=self.hidden, max_steps=self.max_steps,
                           eval_every=self.eval_every, patience=self.patience, batch_size=self.batch_size,
                           weights_lr=self.weights_lr)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SplitArrays:
    """Cached features of one split. layers[name]: (N, D_l); target: (N,) long or (N, C) float multi-hot;
    offsets: (F + 1,) file boundaries into the N frames (frame-level tasks only); tokens: one vocabulary-index
    sequence per file (sequence tasks only)."""

    layers: dict[str, torch.Tensor]
    target: torch.Tensor
    offsets: np.ndarray | None = None
    tokens: list[list[int]] | None = None

    @property
    def num_items(self) -> int:
        return len(self.offsets) - 1 if self.offsets is not None else len(self.target)


@dataclass
class TaskArrays:
    name: str
    domain: str
    embedding_type: str        # "scene" | "event" | "sequence"
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
    """One probe setting (what it reads, kind, learning rate) and its scores (mean and std over seeds; for k-fold
    tasks, the mean over folds). ``items[fold][seed]``: per-item test statistics for the bootstrap."""

    probe: str
    lr: float
    valid: float
    test: float
    test_std: float
    layer_weights: list[float] | None = None
    reads: str = "weighted"                       # "weighted" (sum of layers) or "layer <name>"
    items: list[list[ItemScores]] = field(default_factory=list, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(replace(self, items=[])).items() if k != "items"}

    @classmethod
    def from_dict(cls, d: dict) -> "Fit":
        """The inverse of ``to_dict`` (the per-item statistics are not kept: ``items`` is empty)."""
        return cls(**d)


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
    extra: dict = field(default_factory=dict)     # folds, n_test, ci95, ...

    def to_dict(self) -> dict:
        return {"task": self.task, "domain": self.domain, "metric": self.metric,
                "headline": self.headline.to_dict(),
                "weighted": {k: f.to_dict() for k, f in self.weighted.items()},
                "per_layer": {k: [f.to_dict() for f in fits] for k, fits in self.per_layer.items()},
                "layers": self.layers, "weighted_layers": self.weighted_layers, "extra": self.extra}

    @classmethod
    def from_dict(cls, d: dict) -> "TaskResult":
        """The inverse of ``to_dict``; its fits carry no per-item statistics."""
        return cls(d["task"], d["domain"], d["metric"], Fit.from_dict(d["headline"]),
                   {k: Fit.from_dict(f) for k, f in d["weighted"].items()},
                   {k: [Fit.from_dict(f) for f in fits] for k, fits in d["per_layer"].items()},
                   list(d["layers"]), list(d["weighted_layers"]), dict(d["extra"]))


def weighted_layer_names(layers: dict[str, torch.Tensor]) -> list[str]:
    """Layers of the most common width (a weighted sum needs one width); ties go to the larger width."""
    dims = Counter(int(v.shape[-1]) for v in layers.values())
    dim = max(dims, key=lambda d: (dims[d], d))
    return [k for k, v in layers.items() if int(v.shape[-1]) == dim]


def _stack(split: SplitArrays, names: list[str]) -> torch.Tensor:
    return split.layers[names[0]] if len(names) == 1 else torch.stack([split.layers[n] for n in names], 1)


def _fit_grid(task: TaskArrays, names: list[str], kind: str, protocol: ProbeProtocol,
              seeds: tuple[int, ...]) -> Fit:
    """Train ``kind`` on the named layers (one -> (N, D), several -> (N, L, D) weighted) for every lr and seed;
    keep the lr best on valid (mean over seeds)."""
    if task.embedding_type == "sequence":
        return _fit_grid_ctc(task, names, protocol, seeds)
    tr, va, te = (task.splits[s] for s in ("train", "valid", "test"))
    xt, xv, xe = _stack(tr, names), _stack(va, names), _stack(te, names)

    def items(logits: np.ndarray, split: SplitArrays) -> ItemScores:
        try:
            return item_scores(task.metric, logits, split.target.numpy(), split.offsets, task.frame_rate)
        except ValueError as exc:
            raise ValueError(f"task {task.name!r}: cannot compute {task.metric}: {exc}") from exc

    best: Fit | None = None
    for lr in protocol.lrs:
        valids, tests, weights = [], [], []
        for seed in seeds:
            tp = train_probe(xt, tr.target, xv, va.target, task.num_classes, task.multilabel,
                             protocol.probe_config(kind, lr, seed))
            valids.append(items(tp.predict(xv), va).score())
            tests.append(items(tp.predict(xe), te))
            weights.append(tp.probe.layer_weights())
        best = _better(best, kind, lr, names, valids, tests, weights)
    assert best is not None
    return best


def _fit_grid_ctc(task: TaskArrays, names: list[str], protocol: ProbeProtocol, seeds: tuple[int, ...]) -> Fit:
    tr, va, te = (_sequence(task.splits[s], names) for s in ("train", "valid", "test"))
    best: Fit | None = None
    for lr in protocol.lrs:
        valids, tests, weights = [], [], []
        for seed in seeds:
            cfg = CTCConfig(lr=lr, seed=seed, max_steps=protocol.ctc_steps, weights_lr=protocol.weights_lr)
            probe = train_ctc_probe(tr, va, task.num_classes, task.frame_rate or 0.0, cfg)
            valids.append(sequence_item_scores(probe.decode(va), va.tokens).score())
            tests.append(sequence_item_scores(probe.decode(te), te.tokens))
            weights.append(probe.layer_weights())
        best = _better(best, "linear", lr, names, valids, tests, weights)
    assert best is not None
    return best


def _per_layer_ctc(task: TaskArrays, layers: list[str], protocol: ProbeProtocol,
                   seeds: tuple[int, ...]) -> list[Fit]:
    """Every layer's linear CTC probe, all layers of a width trained in one run (``train_ctc_per_layer``)."""
    fits: dict[str, Fit] = {}
    for group in _width_groups(task.splits["train"].layers, layers):
        tr, va, te = (_sequence(task.splits[s], group) for s in ("train", "valid", "test"))
        for lr in protocol.lrs:
            per = {n: ([], [], []) for n in group}
            for seed in seeds:
                cfg = CTCConfig(lr=lr, seed=seed, max_steps=protocol.ctc_steps, weights_lr=protocol.weights_lr)
                probes = train_ctc_per_layer(tr, va, task.num_classes, task.frame_rate or 0.0, cfg)
                for i, (n, probe) in enumerate(zip(group, probes)):
                    one = lambda s: SequenceSplit(s.x[:, i], s.offsets, s.tokens)  # noqa: E731
                    per[n][0].append(sequence_item_scores(probe.decode(one(va)), va.tokens).score())
                    per[n][1].append(sequence_item_scores(probe.decode(one(te)), te.tokens))
                    per[n][2].append(None)
            for n in group:
                fits[n] = _better(fits.get(n), "linear", lr, [n], *per[n])
    return [fits[n] for n in layers]


def _width_groups(arrays: dict[str, torch.Tensor], layers: list[str]) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for n in layers:
        groups.setdefault(int(arrays[n].shape[-1]), []).append(n)
    return list(groups.values())


def _sequence(split: SplitArrays, names: list[str]) -> SequenceSplit:
    x = split.layers[names[0]][:, None] if len(names) == 1 else torch.stack([split.layers[n] for n in names], 1)
    return SequenceSplit(x, split.offsets, split.tokens)


def _better(best: Fit | None, kind: str, lr: float, names: list[str], valids: list[float],
            tests: list[ItemScores], weights: list) -> Fit:
    scores = [t.score() for t in tests]
    w = None if weights[0] is None else np.mean(np.array(weights), axis=0).tolist()
    reads = "weighted" if len(names) > 1 else f"layer {names[0]}"
    fit = Fit(kind, lr, float(np.mean(valids)), float(np.mean(scores)), float(np.std(scores)), w, reads, [tests])
    return fit if best is None or fit.valid > best.valid else best


def choose_headline(weighted: dict[str, Fit], per_layer: dict[str, list[Fit]]) -> Fit:
    """The valid-best of the weighted-sum fits and the best single layer."""
    candidates = list(weighted.values()) + [max(fits, key=lambda f: f.valid) for fits in per_layer.values() if fits]
    return max(candidates, key=lambda f: f.valid)


def evaluate_task(task: TaskArrays, protocol: ProbeProtocol | None = None) -> TaskResult:
    """Per-layer and weighted-sum probes for one task's cached features of one encoder."""
    protocol = protocol or ProbeProtocol()
    for s in ("train", "valid", "test"):
        if s not in task.splits or task.splits[s].num_items == 0:
            raise ValueError(f"task {task.name!r}: split {s!r} is missing or empty")
    if not task.multilabel and task.embedding_type == "scene":
        if len(torch.unique(task.splits["train"].target)) < 2:
            raise ValueError(f"task {task.name!r}: the training split has a single class; a probe needs at "
                             "least two classes (add files of other classes or drop the task)")
    layers = list(task.splits["train"].layers)
    wnames = weighted_layer_names(task.splits["train"].layers)
    layer_seeds = tuple(protocol.seeds[: max(1, protocol.per_layer_seeds)])
    sequence = task.embedding_type == "sequence"
    layer_kinds = ("linear",) if sequence else protocol.per_layer_probes
    weighted_kinds = ("linear",) if sequence else protocol.probes
    if len(layers) == 1:   # a one-layer source (e.g. spectral statistics) gets every probe kind and seed
        layer_kinds, layer_seeds = weighted_kinds, tuple(protocol.seeds)
    if sequence:
        per_layer = {"linear": _per_layer_ctc(task, layers, protocol, layer_seeds)}
    else:
        per_layer = {k: [_fit_grid(task, [n], k, protocol, layer_seeds) for n in layers] for k in layer_kinds}
    weighted = {}
    if len(wnames) > 1:
        weighted = {k: _fit_grid(task, wnames, k, protocol, tuple(protocol.seeds)) for k in weighted_kinds}
    headline = choose_headline(weighted, per_layer)
    n_test = task.splits["test"].num_items
    return TaskResult(task.name, task.domain, task.metric, headline, weighted, per_layer, layers, wnames,
                      {"n_test": n_test})
