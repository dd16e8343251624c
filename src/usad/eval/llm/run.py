"""``run_llm_eval``: frozen encoder features -> projector -> LM with LoRA, trained on a suite's QA items, scored
by exact match on the test split. One model is trained on all scene tasks together; accuracy is per task."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from usad.eval.llm.lm import add_lora, load_causal_lm
from usad.eval.llm.model import AudioLLM
from usad.eval.llm.qa import QAItem, build_qa
from usad.eval.llm.train import LLMTrainConfig, score_exact_match, train_audio_llm


@dataclass
class LLMEvalConfig:
    lm: str = "gemma3-270m"
    layer: str | None = None        # encoder layer name to read (default: the last)
    factor: int = 4                 # frame downsampling
    mode: str = "stack"             # "stack" | "pool"
    lora_r: int = 8
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    max_new_tokens: int = 8
    train: LLMTrainConfig = field(default_factory=LLMTrainConfig)


@torch.no_grad()
def extract_frames(source, items: list[QAItem], layer: str | None) -> tuple[dict[str, torch.Tensor], str]:
    """Per clip (T, D) valid frames of one layer of a FrozenEncoder (computed once per clip)."""
    from usad.audio import load_audio

    layer = layer or source.layer_names[-1]
    if layer not in source.layer_names:
        raise ValueError(f"encoder {source.spec!r} has no layer {layer!r}; available: {source.layer_names}")
    feats: dict[str, torch.Tensor] = {}
    for it in items:
        key = str(it.path)
        if key in feats:
            continue
        wav = load_audio(it.path, name=f"task {it.task!r} file {it.path.name}").to(source.device)
        out = source(wav.unsqueeze(0), torch.tensor([wav.numel()], device=source.device))
        feats[key] = out.layers[layer][0][out.mask[0]].float().cpu()
    return feats, layer


def run_llm_eval(suite_dir: str | Path, encoder: str, out_dir: str | Path | None = None,
                 cfg: LLMEvalConfig | None = None, *, device: str = "cpu", tasks: list[str] | None = None,
                 lm_pair=None, log=print) -> dict:
    """Train and score; returns (and writes ``out_dir/llm_results.json``) accuracies, losses and timings.

    ``lm_pair``: an already built (model, tokenizer) to use instead of ``cfg.lm`` (tests)."""
    from usad.encoders import load_frozen

    cfg = cfg or LLMEvalConfig()
    log = log or (lambda _m: None)
    qa = build_qa(suite_dir, tasks, log=log)
    source = load_frozen(encoder, device=device)
    t0 = time.perf_counter()
    feats, layer = extract_frames(source, qa["train"] + qa["valid"] + qa["test"], cfg.layer)
    t_feat = time.perf_counter() - t0
    dim = next(iter(feats.values())).shape[-1]
    t0 = time.perf_counter()
    lm, tok = lm_pair if lm_pair is not None else load_causal_lm(cfg.lm, device=device)
    t_load = time.perf_counter() - t0
    lm = add_lora(lm, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)
    model = AudioLLM(lm, tok, dim, cfg.factor, cfg.mode).to(device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"[llm-eval] {encoder} layer {layer} ({dim}-d) -> {cfg.lm}; trainable parameters {trainable:,}")
    tlog = train_audio_llm(model, qa["train"], feats, cfg.train, log=log)
    acc, preds = score_exact_match(model, qa["test"], feats, cfg.train.batch_size, cfg.max_new_tokens)
    result = {
        "encoder": encoder, "layer": layer, "lm": cfg.lm if lm_pair is None else "custom",
        "config": asdict(cfg), "accuracy": acc, "losses": tlog.losses,
        "seconds": {"features": round(t_feat, 2), "lm_load": round(t_load, 2),
                    "per_step_mean": round(sum(tlog.step_seconds) / len(tlog.step_seconds), 3)},
        "trainable_parameters": trainable, "predictions": preds,
    }
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        from usad.io import atomic_write_text

        atomic_write_text(out / "llm_results.json", json.dumps(result, indent=2))
    log(f"[llm-eval] exact-match accuracy: " + ", ".join(f"{k} {100 * v:.1f}" for k, v in acc.items()))
    return result
