"""transformers peers with random weights built from their configs (nothing is downloaded), and section ``peers``:
HuBERT-Large, WavLM-Large and the Whisper-large-v3 encoder (SDPA and eager) against usad students, in the same
process, on the same batch of 10 s clips, every layer returned, passes interleaved, at each model's best batch.

Whisper's encoder takes only its 30 s window: each clip's log-mel (usad.teachers.whisper.mel, Whisper's own
computation, on the device) is padded to 30 s and timed with the encoder, as usad's fbank is timed with usad.
"""
from __future__ import annotations

from typing import Callable

import torch

from perfcheck.common import Guard, free_memory, interleaved, is_oom, skipped, synthetic_audio

# (family, size) -> transformers config kwargs; "large" follows the released checkpoints' config.json
CONFIGS = {
    ("hubert", "large"): dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                              feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True),
    ("hubert", "base"): dict(),
    ("hubert", "toy"): dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                            conv_dim=(32,) * 7, num_conv_pos_embeddings=16),
    ("wavlm", "large"): dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                             feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=False),
    ("wavlm", "base"): dict(),
    ("wavlm", "toy"): dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                           conv_dim=(32,) * 7, num_conv_pos_embeddings=16),
    ("whisper", "large"): dict(d_model=1280, encoder_layers=32, encoder_attention_heads=20, encoder_ffn_dim=5120,
                               num_mel_bins=128),
    ("whisper", "base"): dict(d_model=512, encoder_layers=6, encoder_attention_heads=8, encoder_ffn_dim=2048,
                              num_mel_bins=80),
    ("whisper", "toy"): dict(d_model=64, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=128,
                             num_mel_bins=80),
}
NAMES = {"large": {"hubert": "hubert-large", "wavlm": "wavlm-large", "whisper": "whisper-large-v3-encoder"},
         "base": {"hubert": "hubert-base", "wavlm": "wavlm-base", "whisper": "whisper-base-encoder"},
         "toy": {"hubert": "hubert-toy", "wavlm": "wavlm-toy", "whisper": "whisper-toy-encoder"}}


def build_peer(family: str, size: str, attn: str | None = None, device: str | torch.device = "cpu"
               ) -> tuple[torch.nn.Module, str]:
    """A random-weight transformers model, initialised on ``device`` (a GPU initialises 600 M parameters in a
    fraction of the time a CPU takes), and the attention implementation it really uses."""
    with torch.device(device):
        return _build_peer(family, size, attn)


def _build_peer(family: str, size: str, attn: str | None) -> tuple[torch.nn.Module, str]:
    import transformers as tf

    kw = CONFIGS[(family, size)]
    if family == "whisper":
        from transformers.models.whisper.modeling_whisper import WhisperEncoder

        cls, config = WhisperEncoder, tf.WhisperConfig
    else:
        cls, config = (tf.HubertModel, tf.HubertConfig) if family == "hubert" else (tf.WavLMModel, tf.WavLMConfig)
    try:
        model = cls._from_config(config(**kw), attn_implementation=attn or "sdpa")
    except (ValueError, ImportError):   # a model without an SDPA path (WavLM) keeps its own attention
        if attn:
            raise
        model = cls._from_config(config(**kw), attn_implementation="eager")
    return model.eval(), str(model.config._attn_implementation)


def peer_call(family: str, model: torch.nn.Module, wav: torch.Tensor) -> Callable[[], list[torch.Tensor]]:
    """wav (B, S) -> a call returning every hidden state, each (B, T, D)."""
    dtype = next(model.parameters()).dtype
    if family == "whisper":
        from usad.teachers.whisper.mel import log_mel

        n_mels = model.config.num_mel_bins
        lengths = torch.full((wav.shape[0],), wav.shape[1], device=wav.device)

        def call():
            mel = log_mel(wav, lengths, n_mels=n_mels)            # (B, n_mels, 3000): the 30 s window
            return list(model(mel.to(dtype), output_hidden_states=True).hidden_states)
        return call

    def call_wav():
        return list(model(wav.to(dtype), output_hidden_states=True).hidden_states)
    return call_wav


def usad_call(model, wav: torch.Tensor) -> Callable[[], list[torch.Tensor]]:
    return lambda: model(wav).hidden_states


USAD_MODELS = [("usad base/sdpa", "base", "sdpa"), ("usad large/sdpa", "large", "sdpa"),
               ("usad large/relpos", "large", "relpos"), ("usad xlarge/sdpa", "xlarge", "sdpa")]
PEER_MODELS = [("hubert", None), ("wavlm", None), ("whisper", "sdpa"), ("whisper", "eager")]


def run(device: torch.device, quick: bool, guard: Guard, log=print) -> dict:
    from usad.model.config import preset_config
    from usad.model.encoder import Encoder
    from perfcheck.inference import TOY

    size = "toy" if quick else "large"
    seconds = 1.0 if quick else 10.0
    batches = [1, 2] if quick else [16, 64]
    rounds = 2 if quick else 3
    models, info = {}, {}
    torch.manual_seed(0)
    for label, preset, attention in USAD_MODELS:
        with torch.device(device):
            m = Encoder(preset_config(preset, attention=attention, **(TOY if quick else {}))).eval()
        models[label] = ("usad", m.to(torch.bfloat16))
        info[label] = {"params_m": round(sum(p.numel() for p in m.parameters()) / 1e6, 2), "attention": attention}
    failed = []
    for family, attn in PEER_MODELS:
        try:
            model, impl = build_peer(family, size, attn, device)
        except Exception as exc:   # a transformers version without this model or attention: say so, go on
            failed.append({"model": NAMES[size][family] + (f" ({attn})" if attn else ""),
                           "failed": f"{type(exc).__name__}: {str(exc)[:300]}"})
            continue
        label = NAMES[size][family] + (f" ({impl})" if family == "whisper" else "")
        models[label] = (family, model.to(device=device, dtype=torch.bfloat16))
        info[label] = {"params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2), "attention": impl}
    per_batch = []
    last_round = 1.0
    for batch in batches:
        need = (rounds + 1) * last_round * 4
        if not guard.allows(need):
            per_batch.append(skipped(guard.reason(need), batch=batch))
            continue
        wav = synthetic_audio(batch, seconds, seed=3, device=device)
        calls = {k: (usad_call(m, wav) if fam == "usad" else peer_call(fam, m, wav)) for k, (fam, m) in
                 models.items()}
        try:
            with torch.inference_mode():
                timed = interleaved(calls, device, rounds=rounds, warmup=1)
        except RuntimeError as exc:
            if not is_oom(exc):
                raise
            free_memory(device)
            per_batch.append(skipped(f"out of memory at batch {batch}", batch=batch))
            break
        last_round = sum(t["median_s"] for t in timed.values())
        per_batch.append({"batch": batch, "models": {k: {"audio_s_per_s": batch * seconds / t["median_s"], **t}
                                                      for k, t in timed.items()}})
        log(f"  peers batch {batch}: " + ", ".join(f"{k} {batch * seconds / t['median_s']:.0f}"
                                                   for k, t in timed.items()))
    best = {}
    for entry in per_batch:
        for k, r in entry.get("models", {}).items():
            if k not in best or r["audio_s_per_s"] > best[k]["audio_s_per_s"]:
                best[k] = {"audio_s_per_s": r["audio_s_per_s"], "batch": entry["batch"]}
    results = [{"model": k, **info[k], **best.get(k, {"skipped": "no batch ran"})} for k in models] + failed
    ours = [k for k, _, _ in USAD_MODELS if k in best]
    ratios = [{"peer": k, **{u: best[u]["audio_s_per_s"] / best[k]["audio_s_per_s"] for u in ours}}
              for k in models if not k.startswith("usad") and k in best]
    del models
    free_memory(device)
    return {"status": "measured", "size": size, "clip_seconds": seconds, "dtype": "bfloat16 weights",
            "rounds": rounds, "results": results, "ratios": ratios, "per_batch": per_batch}
