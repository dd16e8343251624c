"""A CTC probe for sequence tasks (phoneme recognition, SUPERB PR style): frozen frame features -> linear -> CTC.

Features of one split are the frames of every file concatenated, ``x: (N_frames, D)`` or ``(N_frames, L, D)``
(a learned :class:`LayerWeightedSum` combines layers), with file boundaries ``offsets: (F + 1,)`` and one token
sequence per file. Frames are standardised with train statistics. Encoders slower than ``min_rate`` (e.g. a
teacher with one frame per 3 s) have each frame repeated up to that rate, so CTC can emit a token per phone at
all; their score then shows how little they resolve in time. Greedy decoding (best path, repeats merged, blanks
dropped); Adam with early stopping on the validation CTC loss.
"""
from __future__ import annotations

import math
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
    min_rate: float = 50.0


@dataclass
class SequenceSplit:
    """x: (N_frames, D) or (N_frames, L, D); offsets: (F + 1,); tokens: F lists of vocabulary indices."""

    x: torch.Tensor
    offsets: np.ndarray
    tokens: list[list[int]]


class CTCHead(nn.Module):
    def __init__(self, dim: int, vocab: int, num_layers: int | None = None) -> None:
        super().__init__()
        self.mix = LayerWeightedSum(num_layers) if num_layers else None
        self.head = nn.Linear(dim, vocab + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) or (B, T, L, D) -> (B, T, V + 1) log-probabilities."""
        if self.mix is not None:
            b, t = x.shape[:2]
            x = self.mix(x.reshape(b * t, *x.shape[2:])).reshape(b, t, -1)
        return self.head(x).log_softmax(-1)

    def layer_weights(self) -> list[float] | None:
        return self.mix.weights() if self.mix is not None else None


class _Padded:
    """A split's files standardised and padded once: x (F, T_max, ...) and lengths (F,), so a minibatch is an
    index into it (padding per step with pad_sequence costs more than the probe's own forward pass)."""

    def __init__(self, split: SequenceSplit, std: Standardizer, repeat: int) -> None:
        lengths = np.diff(split.offsets) * repeat
        self.lengths = torch.as_tensor(lengths, dtype=torch.long)
        t_max = int(lengths.max()) if len(lengths) else 0
        self.x = torch.zeros((len(lengths), t_max, *split.x.shape[1:]))
        z = std(split.x.float())
        for i, (a, b) in enumerate(zip(split.offsets[:-1], split.offsets[1:])):
            f = z[int(a):int(b)]
            self.x[i, : int(lengths[i])] = f.repeat_interleave(repeat, dim=0) if repeat > 1 else f
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
    repeat: int
    valid_loss: float
    steps: int

    @torch.no_grad()
    def decode(self, split: SequenceSplit, batch_files: int = 32) -> list[list[int]]:
        self.head.eval()
        files = _Padded(split, self.standardizer, self.repeat)
        out: list[list[int]] = []
        for i in range(0, len(files), batch_files):
            x, lengths, _, _ = files.batch(list(range(i, min(len(files), i + batch_files))))
            out += greedy_decode(self.head(x), lengths)
        return out

    def layer_weights(self) -> list[float] | None:
        return self.head.layer_weights()


def train_ctc_probe(train: SequenceSplit, valid: SequenceSplit, vocab: int, frame_rate: float,
                    cfg: CTCConfig) -> TrainedCTC:
    if len(train.tokens) == 0 or len(valid.tokens) == 0:
        raise ValueError("CTC probe: the train and valid splits need at least one file each")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    std = Standardizer(train.x.float())
    repeat = max(1, math.ceil(cfg.min_rate / frame_rate - 1e-6)) if frame_rate else 1
    tr_files, va_files = _Padded(train, std, repeat), _Padded(valid, std, repeat)
    num_layers = train.x.shape[1] if train.x.dim() == 3 else None
    head = CTCHead(train.x.shape[-1], vocab, num_layers)
    groups = [{"params": list(head.head.parameters()), "lr": cfg.lr}]
    if head.mix is not None:
        groups.append({"params": list(head.mix.parameters()), "lr": cfg.weights_lr})
    opt = torch.optim.Adam(groups)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)

    def loss_of(files: _Padded, idx: list[int]) -> torch.Tensor:
        x, lengths, y, tl = files.batch(idx)
        return ctc(head(x).transpose(0, 1), y, lengths, tl)

    @torch.no_grad()
    def valid_loss() -> float:
        head.eval()
        total, n = 0.0, 0
        for i in range(0, len(va_files), 32):
            idx = list(range(i, min(len(va_files), i + 32)))
            total += float(loss_of(va_files, idx)) * len(idx)
            n += len(idx)
        return total / n

    best = (float("inf"), None, 0)
    bad, step = 0, 0
    n = len(tr_files)
    for step in range(1, cfg.max_steps + 1):
        head.train()
        idx = torch.randint(0, n, (min(cfg.batch_files, n),), generator=gen).tolist()
        loss = loss_of(tr_files, idx)
        if not torch.isfinite(loss):
            raise NonFiniteError(f"CTC probe loss became {loss.item()} at step {step} (lr={cfg.lr}); the "
                                     "features may contain NaN/Inf or the learning rate is too high")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            vl = valid_loss()
            if vl < best[0] - 1e-5:
                best = (vl, {k: v.clone() for k, v in head.state_dict().items()}, step)
                bad = 0
            else:
                bad += 1
                if bad >= cfg.patience and step >= cfg.min_steps:
                    break
    if best[1] is not None:
        head.load_state_dict(best[1])
    return TrainedCTC(head, std, repeat, best[0], best[2] or step)
