"""Section ``inference``: every preset x attention x dtype, 10 s clips, all layers, at its best batch size; the
same batch with a key-padding mask (the path relpos is held against); one 10-minute clip through extract_long.

bf16 here means bf16 weights (``model.to(torch.bfloat16)``, the fbank stays float32), the fastest inference form
and what ``usad bench`` measures; fidelity of bf16 against float32 is recorded for the presets run in both.
"""
from __future__ import annotations

import time

import torch

from perfcheck.common import (Guard, PeakMemory, free_memory, is_oom, layer_fidelity, fidelity_summary, skipped,
                              synthetic_audio, time_call)
from usad.bench import clip_flops
from usad.model.config import preset_config
from usad.model.encoder import Encoder
from usad.peak import peak_flops

PRESETS = ["small", "base", "large", "xlarge", "xxlarge"]
FP32_PRESETS = {"small", "base"}
TOY = dict(dim=64, num_layers=2, num_heads=2)


def sizes(quick: bool, device: torch.device) -> dict:
    if quick:
        return {"seconds": 1.0, "batches": [1, 2], "long_seconds": 12.0, "chunk_seconds": 4.0, "min_time": 0.05,
                "overrides": TOY}
    return {"seconds": 10.0, "batches": [16, 32, 64, 128, 256, 512], "long_seconds": 600.0, "chunk_seconds": 30.0,
            "min_time": 0.3, "overrides": {}}


def _measure(model: Encoder, wav: torch.Tensor, lengths: torch.Tensor, device: torch.device, dtype: str,
             min_time: float) -> dict:
    flops = sum(clip_flops(model.config, int(n)) for n in lengths.tolist())
    with torch.inference_mode(), PeakMemory(device) as mem:
        out = model(wav, lengths)
        assert len(out.hidden_states) == model.config.num_layers + 1   # every layer came back
        del out
        per_call = time_call(lambda: model(wav, lengths), device, warmup=1, min_time=min_time)
    peak, source = peak_flops(device, dtype)
    return {"batch": int(wav.shape[0]), "call_s": per_call,
            "audio_s_per_s": float(lengths.sum()) / 16000 / per_call,
            "tflops": flops / per_call / 1e12, "mfu": flops / per_call / peak, "peak_mem_gb": mem.gb,
            "peak_tflops": peak / 1e12, "peak_source": source}


def _sweep(model, cfg, dtype, sz, device, guard, masked=False, batches=None) -> dict:
    """Best batch over the sweep (stops when doubling gains < 3 %, on OOM, or at 80 % of device memory)."""
    tried, best, last_call = [], None, 0.0
    total_mem = torch.cuda.get_device_properties(device).total_memory / 2 ** 30 if device.type == "cuda" else None
    samples = int(sz["seconds"] * 16000)
    for batch in batches or sz["batches"]:
        need = max(1.0, 8 * last_call * 2)
        if not guard.allows(need):
            tried.append(skipped(guard.reason(need), batch=batch))
            break
        wav = synthetic_audio(batch, sz["seconds"], seed=batch, device=device).to(torch.float32)
        lengths = torch.full((batch,), samples, device=device)
        if masked:   # the last clip one encoder hop shorter: SDPA gets a key-padding mask, the audio is the same
            lengths[-1] -= cfg.hop_samples
        try:
            r = _measure(model, wav, lengths, device, dtype, sz["min_time"])
        except RuntimeError as exc:
            if not is_oom(exc):
                raise
            free_memory(device)
            tried.append(skipped(f"out of memory at batch {batch}", batch=batch))
            break
        tried.append(r)
        last_call = r["call_s"]
        improved = best is None or r["audio_s_per_s"] > 1.03 * best["audio_s_per_s"]
        if best is None or r["audio_s_per_s"] > best["audio_s_per_s"]:
            best = r
        if not improved or (total_mem and r["peak_mem_gb"] and r["peak_mem_gb"] > 0.8 * total_mem):
            break
    return {"best": best, "tried": tried}


def _long_audio(model: Encoder, dtype: str, sz: dict, device: torch.device) -> dict:
    wav = synthetic_audio(1, sz["long_seconds"], seed=7)[0].to(device)
    with torch.inference_mode(), PeakMemory(device) as mem:
        per_call = time_call(lambda: model.extract_long(wav, chunk_seconds=sz["chunk_seconds"], include_ffn=True,
                                                        output_device=device),
                             device, warmup=1, min_time=0.0, min_iters=1, max_iters=2)
    return {"clip_seconds": sz["long_seconds"], "chunk_seconds": sz["chunk_seconds"], "call_s": per_call,
            "audio_s_per_s": sz["long_seconds"] / per_call, "peak_mem_gb": mem.gb}


def _one(preset: str, attention: str, sz: dict, device: torch.device, guard: Guard, rows: list, long_rows: list,
         fidelity: list, log) -> None:
    """Every dtype of one preset x attention (and, for sdpa, the masked path and the long clip)."""
    cfg = preset_config(preset, attention=attention, **sz["overrides"])
    label = dict(preset=preset, attention=attention, params_m=None)
    dtypes = (["float32"] if preset in FP32_PRESETS else []) + ["bfloat16"]
    if not guard.allows(3.0):
        rows.extend(skipped(guard.reason(3.0), **label, dtype=dtype) for dtype in dtypes)
        return
    t0 = time.monotonic()
    torch.manual_seed(0)
    with torch.device(device):
        model = Encoder(cfg).eval()
    label["params_m"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 2)
    ref = None
    for dtype in dtypes:
        if dtype == "bfloat16":
            model = model.to(torch.bfloat16)
        res = _sweep(model, cfg, dtype, sz, device, guard)
        rows.append({**label, "dtype": dtype, "seconds": sz["seconds"], **(res["best"] or {}),
                     "tried": res["tried"], **({} if res["best"] else {"skipped": "no batch size ran"})})
        if res["best"]:
            log(f"  inference {preset}/{attention}/{dtype}: {res['best']['audio_s_per_s']:.1f} s/s at batch "
                f"{res['best']['batch']}")
        if preset in FP32_PRESETS and guard.allows(2.0):   # bf16 against float32 on the same clips
            wav = synthetic_audio(2, sz["seconds"], seed=11, device=device)
            with torch.inference_mode():
                out = model(wav)
            if dtype == "float32":
                ref = out.hidden_states
            elif ref is not None:
                per_layer = layer_fidelity(ref, out.hidden_states, out.mask)
                fidelity.append({**label, "dtype": "bfloat16 weights", "layers": per_layer,
                                 **fidelity_summary(per_layer)})
                ref = None
            del out
    if attention == "sdpa":   # the masked path at the best bf16 batch, and the long-audio path
        best = rows[-1].get("batch")
        if best and guard.allows(3.0):
            res = _sweep(model, cfg, "bfloat16", sz, device, guard, masked=True, batches=[best])
            rows.append({**label, "attention": "sdpa+mask", "dtype": "bfloat16", "seconds": sz["seconds"],
                         **(res["best"] or {}), "tried": res["tried"],
                         **({} if res["best"] else {"skipped": "did not run"})})
        if guard.allows(5.0):
            try:
                long_rows.append({**label, "dtype": "bfloat16", **_long_audio(model, "bfloat16", sz, device)})
            except RuntimeError as exc:
                if not is_oom(exc):
                    raise
                long_rows.append(skipped("out of memory", **label, dtype="bfloat16"))
        else:
            long_rows.append(skipped(guard.reason(5.0), **label, dtype="bfloat16"))
    del model
    free_memory(device)
    log(f"  inference {preset}/{attention} done in {time.monotonic() - t0:.1f} s")


def run(device: torch.device, quick: bool, guard: Guard, log=print) -> dict:
    sz = sizes(quick, device)
    rows, long_rows, fidelity = [], [], []
    for attention in ("sdpa", "relpos"):      # every sdpa figure (the anchored ones) before any relpos one
        for preset in PRESETS:
            try:
                _one(preset, attention, sz, device, guard, rows, long_rows, fidelity, log)
            except Exception as exc:   # one failing configuration must not cost the others' figures
                free_memory(device)
                rows.append({"preset": preset, "attention": attention, "dtype": "-",
                             "failed": f"{type(exc).__name__}: {str(exc)[:500]}"})
                log(f"  inference {preset}/{attention} failed: {rows[-1]['failed']}")
    return {"status": "measured", "clip_seconds": sz["seconds"], "batch_sweep": sz["batches"],
            "toy_overrides": sz["overrides"] or None,
            "bf16": "bf16 weights, fbank in float32 (usad bench's convention)",
            "results": rows, "long_audio": long_rows, "fidelity": fidelity}
