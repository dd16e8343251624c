"""Linear and small-MLP probes on frozen, cached features; fast on CPU.

A probe sees standardised features (train statistics) of one layer ``x: (N, D)`` or of several layers
``x: (N, L, D)`` combined by a learned :class:`LayerWeightedSum`. Training is full-batch (or large random
minibatches) Adam, with early stopping on the validation loss; the state with the lowest validation loss is kept.
The layer-weight logits have their own, larger learning rate (``weights_lr``): at the head's rate (1e-3) they
move by at most ~0.4 in 400 steps, so the weights stay near uniform whatever the layers carry.
The same code serves utterance-level tasks (N clips) and frame-level tasks (N frames).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from usad.errors import NonFiniteError
from usad.eval.layer_weights import LayerWeightedSum


@dataclass
class ProbeConfig:
    kind: str = "linear"          # "linear" | "mlp"
    lr: float = 1e-3
    seed: int = 0
    hidden: int = 256             # MLP width
    max_steps: int = 400
    eval_every: int = 10
    patience: int = 6             # evaluations without validation-loss improvement before stopping
    batch_size: int = 4096        # full batch when N <= batch_size
    weight_decay: float = 0.0
    weights_lr: float = 0.02      # Adam learning rate of the layer-weight logits (weighted-sum probes)


class Standardizer:
    """Per-feature mean/std from the training split. x: (N, D) or (N, L, D) (statistics per layer and dim)."""

    def __init__(self, train_x: torch.Tensor) -> None:
        self.mean = train_x.mean(dim=0, keepdim=True)
        self.std = train_x.std(dim=0, keepdim=True, unbiased=False).clamp_min(1e-5)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Probe(nn.Module):
    """(N, D) or (N, L, D) -> (N, C) logits."""

    def __init__(self, dim: int, num_classes: int, kind: str = "linear", hidden: int = 256,
                 num_layers: int | None = None) -> None:
        super().__init__()
        self.mix = LayerWeightedSum(num_layers) if num_layers else None
        if kind == "linear":
            self.head = nn.Linear(dim, num_classes)
        elif kind == "mlp":
            self.head = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(0.1),
                                      nn.Linear(hidden, num_classes))
        else:
            raise ValueError(f"unknown probe kind {kind!r}; use 'linear' or 'mlp'")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mix is not None:
            x = self.mix(x)
        return self.head(x)

    def layer_weights(self) -> list[float] | None:
        return self.mix.weights() if self.mix is not None else None


@dataclass
class TrainedProbe:
    probe: Probe
    standardizer: Standardizer
    valid_loss: float
    steps: int

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 65536) -> np.ndarray:
        """x: (N, D) or (N, L, D) raw features -> (N, C) logits as numpy."""
        self.probe.eval()
        out = [self.probe(self.standardizer(x[i:i + batch].float())) for i in range(0, len(x), batch)]
        return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def _loss_fn(multilabel: bool):
    return nn.BCEWithLogitsLoss() if multilabel else nn.CrossEntropyLoss()


def train_probe(train_x: torch.Tensor, train_y: torch.Tensor, valid_x: torch.Tensor, valid_y: torch.Tensor,
                num_classes: int, multilabel: bool, cfg: ProbeConfig) -> TrainedProbe:
    """train_x: (N, D) or (N, L, D); train_y: (N,) long (multiclass) or (N, C) float multi-hot (multilabel)."""
    if len(train_x) == 0 or len(valid_x) == 0:
        raise ValueError("train_probe: the train and valid splits need at least one example each")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    std = Standardizer(train_x.float())
    xt, xv = std(train_x.float()), std(valid_x.float())
    yt = train_y.float() if multilabel else train_y.long()
    yv = valid_y.float() if multilabel else valid_y.long()
    num_layers = train_x.shape[1] if train_x.dim() == 3 else None
    probe = Probe(train_x.shape[-1], num_classes, cfg.kind, cfg.hidden, num_layers)
    groups = [{"params": list(probe.head.parameters()), "lr": cfg.lr, "weight_decay": cfg.weight_decay}]
    if probe.mix is not None:
        groups.append({"params": list(probe.mix.parameters()), "lr": cfg.weights_lr, "weight_decay": 0.0})
    opt = torch.optim.Adam(groups)
    loss_fn = _loss_fn(multilabel)
    best = (float("inf"), None, 0)
    bad = 0
    n = len(xt)
    step = 0
    for step in range(1, cfg.max_steps + 1):
        probe.train()
        if n > cfg.batch_size:
            idx = torch.randint(0, n, (cfg.batch_size,), generator=gen)
            xb, yb = xt[idx], yt[idx]
        else:
            xb, yb = xt, yt
        loss = loss_fn(probe(xb), yb)
        if not torch.isfinite(loss):
            raise NonFiniteError(f"probe loss became {loss.item()} at step {step} (lr={cfg.lr}); "
                                     "the features may contain NaN/Inf or the learning rate is too high")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            probe.eval()
            with torch.no_grad():
                vl = float(loss_fn(probe(xv), yv))
            if vl < best[0] - 1e-6:
                best = (vl, {k: v.clone() for k, v in probe.state_dict().items()}, step)
                bad = 0
            else:
                bad += 1
                if bad >= cfg.patience:
                    break
    if best[1] is not None:
        probe.load_state_dict(best[1])
    return TrainedProbe(probe, std, best[0], best[2] or step)
