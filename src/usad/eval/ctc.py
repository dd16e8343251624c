"""A CTC probe for sequence tasks (phoneme recognition, SUPERB PR style): frozen frame features -> linear -> CTC.

Features of one split are the frames of every file concatenated, ``x: (N_frames, D)`` or ``(N_frames, L, D)``
(a learned :class:`LayerWeightedSum` combines layers), with file boundaries ``offsets: (F + 1,)`` and one token
sequence per file. Frames are standardised with train statistics and brought to one frame rate, ``rate`` (50 Hz)
with ``usad.teachers.align_frames``: faster encoders (the 100 Hz spectral control, Basic Pitch at 86 Hz) are
pooled or interpolated down, so no encoder gets more frames to emit tokens from than another; slower ones (a
teacher with one frame per 3 s) have frames repeated, so CTC can emit a token per phone at all, and their score
shows how little they resolve in time. Greedy decoding (best path, repeats merged, blanks dropped); Adam with
early stopping on the validation CTC loss, never before ``min_steps``. ``train_ctc_per_layer`` trains one head per
layer in one pass over the same minibatches (the per-layer curve for the cost of about one probe).

A linear CTC head on a few hundred files is sensitive to its random init: in our trials some inits settled where
the head emits mostly blanks (validation loss ~4.0 against ~2.9, PER ~0.87 against ~0.65 on the same features).
Every probe therefore trains ``restarts`` heads from different inits side by side on the same minibatches and
keeps, per layer, the one with the lowest validation loss: the choice is made on valid, never on test.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from usad.errors import NonFiniteError
from usad.eval.layer_weights import LayerWeightedSum
from usad.eval.probes import Standardizer

BLANK = 0   # token k of the vocabulary is class k + 1


@dataclass
class CTCConfig:
    lr: float = 1e-3
    seed: int = 0
    max_steps: int = 1500
    eval_every: int = 50
    patience: int = 6
    min_steps: int = 600          # no early stop before: CTC first learns to emit blanks, then tokens
    batch_files: int = 16
    weights_lr: float = 0.02
    rate: float = 50.0            # every encoder's frames are brought to this rate
    blank_bias: float = 0.0       # > 0 starts the blank logit higher (it slowed learning in our trials)
    restarts: int = 2             # heads from different random inits trained side by side; the best on valid kept
    weight_decay: float = 0.0     # L2 penalty on the linear head (not on the layer weights)


@dataclass
class SequenceSplit:
    """x: (N_frames, D) or (N_frames, L, D); offsets: (F + 1,); tokens: F lists of vocabulary indices."""

    x: torch.Tensor
    offsets: np.ndarray
    tokens: list[list[int]]


class CTCHead(nn.Module):
    def __init__(self, dim: int, vocab: int, num_layers: int | None = None, blank_bias: float = 0.0) -> None:
        super().__init__()
        self.mix = LayerWeightedSum(num_layers) if num_layers else None
        self.head = nn.Linear(dim, vocab + 1)
        with torch.no_grad():
            self.head.bias[BLANK] += blank_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) or (B, T, L, D) -> (B, T, V + 1) log-probabilities."""
        if self.mix is not None:
            b, t = x.shape[:2]
            x = self.mix(x.reshape(b * t, *x.shape[2:])).reshape(b, t, -1)
        return self.head(x).log_softmax(-1)

    def layer_weights(self) -> list[float] | None:
        return self.mix.weights() if self.mix is not None else None


class _Padded:
    """A split's files standardised, brought to ``rate`` and padded once: x (F, T_max, ...) and lengths (F,), so a
    minibatch is an index into it (padding per step with pad_sequence costs more than the probe's forward pass)."""

    def __init__(self, split: SequenceSplit, std: Standardizer, src_rate: float, rate: float) -> None:
        from usad.teachers.align import align_frames, num_frames_at

        counts = np.diff(split.offsets)
        lengths = [num_frames_at(int(n), src_rate, rate) for n in counts]
        self.lengths = torch.as_tensor(lengths, dtype=torch.long)
        t_max = int(max(lengths)) if lengths else 0
        inner = tuple(split.x.shape[1:])
        self.x = torch.zeros((len(lengths), t_max, *inner))
        z = std(split.x.float())
        for i, (a, b) in enumerate(zip(split.offsets[:-1], split.offsets[1:])):
            f = z[int(a):int(b)].reshape(int(b) - int(a), -1)
            if src_rate != rate:
                f = align_frames(f[None], None, src_rate, rate, lengths[i])[0][0]
            self.x[i, : lengths[i]] = f.reshape(lengths[i], *inner)
        self.tokens = split.tokens

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, idx: list[int]):
        lengths = self.lengths[idx]
        x = self.x[idx, : int(lengths.max())]
        tgt = [torch.tensor(self.tokens[i], dtype=torch.long) + 1 for i in idx]
        tl = torch.tensor([len(t) for t in tgt])
        y = torch.cat(tgt) if tgt else torch.zeros(0, dtype=torch.long)
        return x, lengths, y, tl


def greedy_decode(logp: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    """(B, T, V + 1) -> token index sequences (class k + 1 -> token k)."""
    best = logp.argmax(-1)
    out = []
    for b in range(len(lengths)):
        path = best[b, : int(lengths[b])].tolist()
        seq, prev = [], BLANK
        for p in path:
            if p != prev and p != BLANK:
                seq.append(p - 1)
            prev = p
        out.append(seq)
    return out


@dataclass
class TrainedCTC:
    head: CTCHead
    standardizer: Standardizer
    src_rate: float
    rate: float
    valid_loss: float
    steps: int

    @torch.no_grad()
    def decode(self, split: SequenceSplit, batch_files: int = 32) -> list[list[int]]:
        self.head.eval()
        files = _Padded(split, self.standardizer, self.src_rate, self.rate)
        out: list[list[int]] = []
        for i in range(0, len(files), batch_files):
            x, lengths, _, _ = files.batch(list(range(i, min(len(files), i + batch_files))))
            out += greedy_decode(self.head(x), lengths)
        return out

    def layer_weights(self) -> list[float] | None:
        return self.head.layer_weights()


def train_ctc_probe(train: SequenceSplit, valid: SequenceSplit, vocab: int, frame_rate: float,
                    cfg: CTCConfig) -> TrainedCTC:
    """One CTC head on ``train.x`` ((N, D) one layer, or (N, L, D) combined by learned layer weights)."""
    num_layers = train.x.shape[1] if train.x.dim() == 3 else None
    torch.manual_seed(cfg.seed)
    heads = nn.ModuleList(CTCHead(train.x.shape[-1], vocab, num_layers, cfg.blank_bias)
                          for _ in range(max(1, cfg.restarts)))
    groups = [{"params": [p for h in heads for p in h.head.parameters()], "lr": cfg.lr,
               "weight_decay": cfg.weight_decay}]
    if num_layers:
        groups.append({"params": [p for h in heads for p in h.mix.parameters()], "lr": cfg.weights_lr})
    states = [lambda h=h: {k: v.detach().clone() for k, v in h.state_dict().items()} for h in heads]
    std, src_rate, bests = _fit(train, valid, cfg, frame_rate, groups, _Each(heads), states)
    k = int(np.argmin([b[0] for b in bests]))
    head = heads[k]
    head.load_state_dict(bests[k][1])
    return TrainedCTC(head, std, src_rate, cfg.rate, bests[k][0], bests[k][2])


class _Each(nn.Module):
    """Several heads on the same input, one output each, for ``_fit``."""

    def __init__(self, heads: nn.ModuleList) -> None:
        super().__init__()
        self.heads = heads

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [h(x) for h in self.heads]


class _PerLayerHeads(nn.Module):
    """K x L independent linear CTC heads (K restarts of one head per layer), run as one batched matmul:
    (B, T, L, D) -> K * L tensors (B, T, V+1), restart-major (head k * L + l reads layer l)."""

    def __init__(self, num_layers: int, dim: int, vocab: int, blank_bias: float, restarts: int = 1) -> None:
        super().__init__()
        self.num_layers = num_layers
        init = [nn.Linear(dim, vocab + 1) for _ in range(restarts * num_layers)]
        w = torch.stack([m.weight.detach() for m in init]).reshape(restarts, num_layers, vocab + 1, dim)
        b = torch.stack([m.bias.detach() for m in init]).reshape(restarts, num_layers, vocab + 1)
        self.weight, self.bias = nn.Parameter(w), nn.Parameter(b)
        with torch.no_grad():
            self.bias[..., BLANK] += blank_bias

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        logits = torch.einsum("btld,klcd->btklc", x, self.weight) + self.bias
        return list(logits.log_softmax(-1).flatten(2, 3).unbind(2))

    def head_state(self, head: int) -> dict:
        k, l = divmod(head, self.num_layers)
        return {"weight": self.weight[k, l].detach().clone(), "bias": self.bias[k, l].detach().clone()}


def train_ctc_per_layer(train: SequenceSplit, valid: SequenceSplit, vocab: int, frame_rate: float,
                        cfg: CTCConfig) -> list[TrainedCTC]:
    """One linear CTC head per layer of ``train.x`` (N, L, D), trained together on the same minibatches (the
    batch is read once for all layers). The heads share nothing (Adam is per element and each head's loss depends
    on its own weights only); each keeps its own best validation state. Returns one single-layer probe per layer."""
    num_layers, dim = train.x.shape[1], train.x.shape[2]
    torch.manual_seed(cfg.seed)
    restarts = max(1, cfg.restarts)
    heads = _PerLayerHeads(num_layers, dim, vocab, cfg.blank_bias, restarts)
    states = [lambda h=h: heads.head_state(h) for h in range(restarts * num_layers)]
    group = {"params": list(heads.parameters()), "lr": cfg.lr, "weight_decay": cfg.weight_decay}
    std, src_rate, bests = _fit(train, valid, cfg, frame_rate, [group], heads, states)
    out = []
    for l in range(num_layers):
        vl, state, step = min((bests[k * num_layers + l] for k in range(restarts)), key=lambda b: b[0])
        head = CTCHead(dim, vocab)
        head.head.load_state_dict(state)
        layer_std = Standardizer.__new__(Standardizer)
        layer_std.mean, layer_std.std = std.mean[:, l], std.std[:, l]
        out.append(TrainedCTC(head, layer_std, src_rate, cfg.rate, vl, step))
    return out


def _fit(train: SequenceSplit, valid: SequenceSplit, cfg: CTCConfig, frame_rate: float, groups: list[dict],
         forward, states: list) -> tuple[Standardizer, float, list[tuple[float, dict, int]]]:
    """The training loop shared by one head and per-layer heads. ``forward(x)`` returns one log-probability
    tensor per head; ``states[k]()`` snapshots head k. Returns the standardizer, the source rate and per head
    (best validation loss, its state, its step)."""
    if len(train.tokens) == 0 or len(valid.tokens) == 0:
        raise ValueError("CTC probe: the train and valid splits need at least one file each")
    gen = torch.Generator().manual_seed(cfg.seed)
    std = Standardizer(train.x.float())
    src_rate = float(frame_rate or cfg.rate)
    tr_files, va_files = _Padded(train, std, src_rate, cfg.rate), _Padded(valid, std, src_rate, cfg.rate)
    opt = torch.optim.Adam(groups)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)

    def losses_of(files: _Padded, idx: list[int]) -> list[torch.Tensor]:
        x, lengths, y, tl = files.batch(idx)
        return [ctc(lp.transpose(0, 1), y, lengths, tl) for lp in forward(x)]

    @torch.no_grad()
    def valid_losses() -> list[float]:
        totals = np.zeros(len(states))
        for i in range(0, len(va_files), 32):
            idx = list(range(i, min(len(va_files), i + 32)))
            totals += np.array([float(v) for v in losses_of(va_files, idx)]) * len(idx)
        return list(totals / len(va_files))

    best = [(float("inf"), s(), 0) for s in states]
    bad, n = 0, len(tr_files)
    for step in range(1, cfg.max_steps + 1):
        idx = torch.randint(0, n, (min(cfg.batch_files, n),), generator=gen).tolist()
        loss = sum(losses_of(tr_files, idx))
        if not torch.isfinite(loss):
            raise NonFiniteError(f"CTC probe loss became {loss.item()} at step {step} (lr={cfg.lr}); the "
                                 "features may contain NaN/Inf or the learning rate is too high")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            improved = False
            for k, vl in enumerate(valid_losses()):
                if vl < best[k][0] - 1e-5:
                    best[k] = (vl, states[k](), step)
                    improved = True
            bad = 0 if improved else bad + 1
            if bad >= cfg.patience and step >= cfg.min_steps:
                break
    return std, src_rate, best
