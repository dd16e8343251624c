"""Section ``cpu_bf16``: float32 against bfloat16 on this CPU, side by side, with the fidelity of the bf16 features.

Every model sees the same clip (batch 1, every layer), in three forms: float32; bf16 autocast over float32
weights (what ``usad extract`` and the adapters run by default on CPUs with native bf16, usad.precision); bf16
weights (``model.to(torch.bfloat16)``, what ``usad bench --dtypes bfloat16`` runs). Passes are interleaved (one
pass of every model and form per round) and the median round counts, so other jobs' load hits all alike; the load
average is recorded after every round. Fidelity per layer against float32: mean and worst frame cosine, max
relative error (max |bf16 - fp32| / max |fp32|).

Random weights may hide what trained weights do in bf16 (trained networks grow large activations), so the
fidelity check also runs on real weights where they are installed: whisper-base's encoder (our PyTorch module on
the CTranslate2 weights), a usad student whose blocks are warm-started from whisper-base, and any trained student
folder given with ``--trained``.
"""
from __future__ import annotations

import copy

import torch

from perfcheck.common import (Guard, fidelity_summary, interleaved, layer_fidelity, load_average, skipped,
                              synthetic_audio)
from perfcheck.peers import NAMES, build_peer, peer_call

USAD = [("small", "sdpa"), ("small", "relpos"), ("base", "sdpa"), ("base", "relpos")]
FORMS = ("float32", "bf16 autocast", "bf16 weights")


def _forms(model: torch.nn.Module, call_for) -> dict[str, callable]:
    """The three forms of one model: call_for(model) -> a call returning its hidden states."""
    fp32 = call_for(model)
    low = copy.deepcopy(model).to(torch.bfloat16)
    weights = call_for(low)

    def autocast():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fp32()
    return {"float32": fp32, "bf16 autocast": autocast, "bf16 weights": weights}


def _fidelity(forms: dict, mask=None) -> dict:
    with torch.inference_mode():
        ref = forms["float32"]()
        out = {}
        for form in FORMS[1:]:
            rows = layer_fidelity(ref, forms[form](), mask)
            out[form] = {**fidelity_summary(rows), "layers": rows}
    return out


def _trained_models(trained: list[str], wav: torch.Tensor) -> list[tuple[str, dict, object]]:
    """(label, forms, mask) for real-weight models available here."""
    from usad.model.encoder import Encoder

    found = []
    try:
        from usad.distill.warm_start import warm_start
        from usad.teachers.whisper.teacher import load_whisper_base_encoder
        from usad.teachers.whisper.mel import log_mel

        whisper = load_whisper_base_encoder().eval()
        lengths = torch.tensor([wav.shape[1]])
        mel = log_mel(wav, lengths, n_mels=80, pad_to=wav.shape[1] + (-wav.shape[1]) % 320)

        def whisper_call(m):
            return lambda: m(mel)[0]
        found.append(("whisper-base (real weights)", _forms(whisper, whisper_call), None))
        student = Encoder.from_preset("small", dim=512, num_heads=8, num_layers=6).eval()
        warm_start(student, "whisper-base")
        found.append(("usad 512x6, blocks from whisper-base", _forms(student, lambda m: lambda: m(wav).hidden_states),
                      None))
    except Exception as exc:   # the teacher packages are optional: record why, check the rest
        found.append((f"whisper-base unavailable: {type(exc).__name__}: {str(exc)[:200]}", None, None))
    for folder in trained:
        enc = Encoder.from_pretrained(folder).eval()
        found.append((f"trained student {folder}", _forms(enc, lambda m: lambda: m(wav).hidden_states), None))
    return found


def run(device: torch.device, quick: bool, guard: Guard, threads: int, rounds: int, audio: str | None = None,
        trained: list[str] | None = None, log=print) -> dict:
    from usad.model.config import preset_config
    from usad.model.encoder import Encoder
    from usad.precision import cpu_native_bf16, resolve_dtype
    from perfcheck.inference import TOY

    if device.type != "cpu":
        return {"status": "skipped: a CPU section (run with --device cpu)"}
    torch.set_num_threads(threads)
    seconds = 1.0 if quick else 10.0
    if audio:
        from usad.audio import load_audio

        wav = load_audio(audio)[: int(seconds * 16000)][None]
        source = f"{audio} (first {wav.shape[1] / 16000:g} s)"
    else:
        wav = synthetic_audio(1, seconds, seed=1)
        source = "synthetic speech-like signal (perfcheck.common.synthetic_audio)"
    seconds = wav.shape[1] / 16000
    torch.manual_seed(0)
    models, fidelity = {}, {}
    for preset, attention in USAD:
        enc = Encoder(preset_config(preset, attention=attention, **(TOY if quick else {}))).eval()
        label = f"usad {preset}/{attention}"
        models[label] = (_forms(enc, lambda m: lambda: m(wav).hidden_states),
                         round(sum(p.numel() for p in enc.parameters()) / 1e6, 2))
    size = "toy" if quick else "base"
    for family in ("hubert", "wavlm", "whisper"):
        model, impl = build_peer(family, size)
        frames = None
        if family == "whisper":   # compare the clip's own frames, not the padding up to 30 s
            frames = torch.zeros(1, 1500, dtype=torch.bool)
            frames[0, : int(seconds * 50)] = True
        models[NAMES[size][family]] = (_forms(model, lambda m, f=family: peer_call(f, m, wav)),
                                       round(sum(p.numel() for p in model.parameters()) / 1e6, 2), frames)
    for label, (forms, *rest) in models.items():   # fidelity first: it is the point of the section
        fidelity[label] = _fidelity(forms, rest[1] if len(rest) > 1 else None)
    calls = {f"{label}|{form}": fn for label, (forms, *_) in models.items() for form, fn in forms.items()}
    load_before = load_average()
    with torch.inference_mode():
        timed = interleaved(calls, device, rounds=rounds, warmup=1,
                            on_round=lambda r: log(f"  cpu_bf16 round {r + 1}/{rounds + 1}, load {load_average()}"),
                            keep_going=lambda last: guard.allows(1.2 * last))
    load_after = load_average()
    reference = "hubert-toy" if quick else "hubert-base"
    ref_rate = seconds / timed[f"{reference}|float32"]["median_s"]
    rows = []
    for label, (forms, params, *_) in models.items():
        rates = {form: seconds / timed[f"{label}|{form}"]["median_s"] for form in FORMS}
        fid = fidelity[label]
        rows.append({"model": label, "params_m": params, **{f"{form} s/s": rates[form] for form in FORMS},
                     "autocast speed-up": rates["bf16 autocast"] / rates["float32"],
                     "weights speed-up": rates["bf16 weights"] / rates["float32"],
                     "fp32 speed vs " + reference: rates["float32"] / ref_rate,
                     "autocast min layer cos": fid.get("bf16 autocast", {}).get("min_layer_cos"),
                     "weights min layer cos": fid.get("bf16 weights", {}).get("min_layer_cos"),
                     "times_s": {form: timed[f"{label}|{form}"]["times_s"] for form in FORMS}})
    trained_rows = []
    for label, forms, mask in _trained_models(trained or [], wav) if not quick else []:
        if forms is None:
            trained_rows.append(skipped(label, model="whisper-base"))
            continue
        fid = _fidelity(forms, mask)
        trained_rows.append({"model": label, **{form: {k: v for k, v in fid[form].items()} for form in fid}})
    native, why = cpu_native_bf16()
    # the rule behind usad's CPU default: every usad model, random and real weights, within cosine 0.999
    holds = all(fidelity[l]["bf16 autocast"]["holds"] for l in fidelity if l.startswith("usad")) and \
        all(r["bf16 autocast"]["holds"] for r in trained_rows if "bf16 autocast" in r)
    return {"status": "measured", "threads": torch.get_num_threads(), "clip_seconds": seconds, "audio": source,
            "rounds": len(next(iter(timed.values()))["times_s"]), "reference": reference, "load_before": load_before, "load_after": load_after,
            "round_loads": next(iter(timed.values()))["load_1min"], "native_bf16": native, "native_bf16_why": why,
            "default_dtype_here": resolve_dtype("auto", "cpu"), "fidelity_holds_autocast": holds,
            "results": rows, "fidelity": fidelity, "trained": trained_rows}
