"""Training and scoring of the audio LLM: AdamW (lr 1e-4, weight decay 0.01) with linear warm-up; exact match."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import torch

from usad.eval.llm.model import AudioLLM
from usad.eval.llm.qa import QAItem, normalise


@dataclass
class LLMTrainConfig:
    steps: int = 200
    batch_size: int = 8
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: int = 20
    seed: int = 0
    log_every: int = 10


@dataclass
class TrainLog:
    losses: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)


def trainable_parameters(model: AudioLLM) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def train_audio_llm(model: AudioLLM, items: list[QAItem], feats: dict[str, torch.Tensor], cfg: LLMTrainConfig,
                    log=None) -> TrainLog:
    """Train projector + LoRA on ``items``; ``feats[str(path)]``: (T, D) frozen encoder frames of each clip."""
    if not items:
        raise ValueError("train_audio_llm: no training items")
    params = trainable_parameters(model)
    if not params:
        raise ValueError("train_audio_llm: the model has no trainable parameters (projector and LoRA expected)")
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, cfg.warmup)))
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    model.train()
    out = TrainLog()
    order: list[QAItem] = []
    for step in range(1, cfg.steps + 1):
        t0 = time.perf_counter()
        if len(order) < cfg.batch_size:
            more = list(items)
            rng.shuffle(more)
            order += more
        batch, order = order[: cfg.batch_size], order[cfg.batch_size:]
        loss = model.loss([feats[str(b.path)] for b in batch], [b.question for b in batch],
                          [b.answer for b in batch])
        if not torch.isfinite(loss):
            raise FloatingPointError(f"LLM training loss became {loss.item()} at step {step}; lower the lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        out.losses.append(loss.item())
        out.step_seconds.append(time.perf_counter() - t0)
        if log and (step % cfg.log_every == 0 or step == 1 or step == cfg.steps):
            log(f"[llm-eval] step {step}/{cfg.steps} loss {loss.item():.4f} ({out.step_seconds[-1]:.2f} s/step)")
    model.eval()
    return out


@torch.no_grad()
def score_exact_match(model: AudioLLM, items: list[QAItem], feats: dict[str, torch.Tensor],
                      batch_size: int = 8, max_new_tokens: int = 8) -> tuple[dict[str, float], list[dict]]:
    """-> (accuracy per task and "all", predictions). A prediction is right when its normalised text equals the
    normalised answer."""
    model.eval()
    preds: list[dict] = []
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        texts = model.answer([feats[str(b.path)] for b in chunk], [b.question for b in chunk], max_new_tokens)
        for b, t in zip(chunk, texts):
            preds.append({"task": b.task, "file": b.path.name, "answer": b.answer, "prediction": t,
                          "correct": normalise(t) == normalise(b.answer)})
    acc: dict[str, float] = {}
    for task in sorted({p["task"] for p in preds}):
        hits = [p["correct"] for p in preds if p["task"] == task]
        acc[task] = sum(hits) / len(hits)
    if preds:
        acc["all"] = sum(p["correct"] for p in preds) / len(preds)
    return acc, preds
