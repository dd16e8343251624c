"""gpu_check.md: every measured figure, with the given H100 anchors and the targets beside them, labelled as such."""
from __future__ import annotations

# Given, not measured by this project: one H100, bf16, 10 s clips, all layers, plain PyTorch students.
ANCHORS = {
    "source": "given in the task (one H100, bf16, 10 s clips, all layers, plain PyTorch students); NOT measured "
              "by this script",
    "inference_audio_s_per_s": {"base": 42000, "large": 14600, "xlarge": 15700},
    "peers_audio_s_per_s": {"wavlm-large": 1966, "whisper-large-v3-encoder (sdpa)": 3717,
                            "whisper-large-v3-encoder (eager)": 1221},
    "train_mfu": {"xxlarge": 0.31, "base (compiled)": 0.26},
}
TARGETS = {
    "inference_audio_s_per_s": {"base": 45000, "large": 16000, "xlarge": 18000},
    "relpos": "relpos no slower than the same preset's SDPA path with a key-padding mask (sdpa+mask)",
    "train_mfu": 0.40,
}


def _f(x, fmt="{:,.0f}", none="-"):
    if x is None or (isinstance(x, float) and x != x):
        return none
    return fmt.format(x)


def _p(x) -> str:
    """Parameter counts in millions: toy models have fractions of a million."""
    return "-" if x is None else (f"{x:.0f}" if x >= 10 else f"{x:.2f}")


def _status(sec: dict) -> str | None:
    s = str(sec.get("status", "missing"))
    return None if s == "measured" else s


def _head(sec: dict) -> str:
    return (f"budget {sec.get('budget_s', '-')} s, took {sec.get('elapsed_s', '-')} s, load average "
            f"{sec.get('load_start', '-')} -> {sec.get('load_end', '-')}")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def _env(e: dict) -> list[str]:
    keys = ["device", "gpu", "gpu_memory_gb", "driver", "cuda", "cudnn", "torch", "transformers", "python", "cpu",
            "cpu_threads", "cpu_native_bf16_why", "usad_default_cpu_dtype", "peak_tflops_bfloat16",
            "peak_source_bfloat16", "peak_tflops_float32", "peak_source_float32", "load_average"]
    return _table(["what", "value"], [[k, str(e[k])] for k in keys if k in e])


def _inference(sec: dict) -> list[str]:
    anchor, target = ANCHORS["inference_audio_s_per_s"], TARGETS["inference_audio_s_per_s"]
    rows, by = [], {}
    for r in sec.get("results", []):
        key = (r["preset"], r["attention"], r["dtype"])
        by[key] = r
        a = anchor.get(r["preset"]) if r["attention"] == "sdpa" and r["dtype"] == "bfloat16" else None
        t = target.get(r["preset"]) if r["attention"] == "sdpa" and r["dtype"] == "bfloat16" else None
        if "skipped" in r or "failed" in r:
            why = f"skipped: {r['skipped']}" if "skipped" in r else f"failed: {r['failed']}"
            rows.append([r["preset"], r["attention"], r["dtype"], "-", why, "-", "-", "-", _f(a), _f(t), "-"])
            continue
        rows.append([r["preset"], r["attention"], r["dtype"], str(r.get("batch")), _f(r.get("audio_s_per_s")),
                     _f(r.get("tflops"), "{:.1f}"), _f(r.get("mfu"), "{:.1%}"), _f(r.get("peak_mem_gb"), "{:.1f}"),
                     _f(a), _f(t), _f(r["audio_s_per_s"] / t, "{:.2f}x") if t else "-"])
    out = [f"Clips of {sec.get('clip_seconds')} s, every layer returned, best batch of {sec.get('batch_sweep')}; "
           f"{sec.get('bf16')}. Anchor and target columns are given values, not measurements."]
    if sec.get("toy_overrides"):
        out.append(f"Toy sizes (--quick): every preset overridden with {sec['toy_overrides']}.")
    out += [""] + _table(["preset", "attention", "dtype", "best batch", "audio s/s (measured)", "TFLOP/s", "MFU",
                          "peak GB", "anchor H100 (given)", "target", "measured / target"], rows)
    rel = []
    order = ["small", "base", "large", "xlarge", "xxlarge"]
    for preset in sorted({k[0] for k in by}, key=lambda p: order.index(p) if p in order else len(order)):
        r, m = by.get((preset, "relpos", "bfloat16"), {}), by.get((preset, "sdpa+mask", "bfloat16"), {})
        if r.get("audio_s_per_s") and m.get("audio_s_per_s"):
            ratio = r["audio_s_per_s"] / m["audio_s_per_s"]
            rel.append([preset, _f(r["audio_s_per_s"]), _f(m["audio_s_per_s"]), f"{ratio:.2f}",
                        "yes" if ratio >= 1.0 else "no"])
    if rel:
        out += ["", f"Target: {TARGETS['relpos']}.", ""]
        out += _table(["preset", "relpos s/s", "sdpa+mask s/s", "relpos / sdpa+mask", "meets target"], rel)
    longs = sec.get("long_audio", [])
    if longs:
        out += ["", "Long audio (one clip through `Encoder.extract_long`, bf16 weights, sdpa):", ""]
        out += _table(["preset", "clip s", "chunk s", "audio s/s", "peak GB"],
                      [[r["preset"], _f(r.get("clip_seconds"), "{:g}"), _f(r.get("chunk_seconds"), "{:g}"),
                        _f(r.get("audio_s_per_s")) if "skipped" not in r else f"skipped: {r['skipped']}",
                        _f(r.get("peak_mem_gb"), "{:.1f}")] for r in longs])
    fid = sec.get("fidelity", [])
    if fid:
        out += ["", "bf16 weights against float32 on this device (same clips, every layer):", ""]
        out += _table(["preset", "attention", "min layer cosine", "worst frame cosine", "max rel. error",
                       "cosine >= 0.999 on every layer"],
                      [[r["preset"], r["attention"], _f(r["min_layer_cos"], "{:.5f}"),
                        _f(r["min_frame_cos"], "{:.4f}"), _f(r["max_rel_err"], "{:.4f}"),
                        "yes" if r["holds"] else "no"] for r in fid])
    return out


def _peers(sec: dict) -> list[str]:
    anchor = ANCHORS["peers_audio_s_per_s"]
    rows = []
    for r in sec.get("results", []):
        a = anchor.get(r["model"])
        value = f"skipped: {r['skipped']}" if "skipped" in r else (f"failed: {r['failed']}" if "failed" in r
                                                                     else _f(r.get("audio_s_per_s")))
        rows.append([r["model"], r.get("attention", "-"), _p(r.get("params_m")), str(r.get("batch", "-")), value,
                     _f(a)])
    out = [f"{sec.get('size')} models, random weights, {sec.get('dtype')}, {sec.get('clip_seconds')} s clips, "
           f"every layer, same inputs, passes interleaved (median of {sec.get('rounds')} rounds), best batch per "
           f"model. Anchors are given values, not measurements.", ""]
    out += _table(["model", "attention", "params M", "best batch", "audio s/s (measured)", "anchor H100 (given)"],
                  rows)
    ratios = sec.get("ratios", [])
    if ratios:
        ours = [k for k in ratios[0] if k != "peer"]
        out += ["", "Our speed as a multiple of each peer's (measured, same run):", ""]
        out += _table(["peer"] + ours, [[r["peer"]] + [f"{r[k]:.2f}x" for k in ours] for r in ratios])
    return out


def _train(sec: dict) -> list[str]:
    anchor = ANCHORS["train_mfu"]
    rows = []
    for r in sec.get("results", []):
        name = r["preset"] + (" (compiled)" if r.get("compile") else "") + (" FSDP2" if r.get("fsdp") else "")
        a = anchor.get(name) if name in anchor else None
        if "skipped" in r or "failed" in r:
            why = f"skipped: {r['skipped']}" if "skipped" in r else f"failed: {r['failed']}"
            rows.append([name, "-", "-", "-", why, "-", _f(a, "{:.0%}"), "40%"])
            continue
        rows.append([name, _p(r["params_m"]), _f(r["step_s"], "{:.3f}"), _f(r["audio_s_per_s"]),
                     _f(r["mfu"], "{:.1%}"), _f(r.get("peak_mem_gb"), "{:.1f}"), _f(a, "{:.0%}"),
                     f"{TARGETS['train_mfu']:.0%}"])
    out = [f"One optimiser step on {sec.get('batch')} clips of {sec.get('clip_seconds')} s, {sec.get('precision')}, "
           f"{sec.get('targets')}. Anchor (given) and target columns are not measurements.", ""]
    return out + _table(["model", "params M (with heads)", "step s", "audio s/s", "MFU (measured)", "peak GB",
                         "anchor MFU (given)", "target MFU"], rows)


def _distill(sec: dict) -> list[str]:
    out = [f"Corpus: {sec.get('corpus')}.", f"Teacher: {sec.get('teacher')}.", ""]
    caches = sec.get("cache", [])
    if caches:
        out += _table(["teacher cache", "window", "clips", "audio s", "build s", "audio s/s"],
                      [[c.get("teacher", "-"), c.get("window", "-"), str(c.get("clips", "-")),
                        _f(c.get("audio_s")), _f(c.get("seconds"), "{:.1f}"),
                        _f(c.get("audio_s_per_s"), "{:,.1f}") if "skipped" not in c else f"skipped: {c['skipped']}"]
                       for c in caches])
    s = sec.get("stage1", {})
    if "skipped" in s:
        return out + ["", f"Stage 1: skipped: {s['skipped']}"]
    if s:
        out += ["", f"Stage 1 ({s.get('preset')}, {s.get('precision')}, batches up to {s.get('batch_max_seconds')} s "
                    f"of {s.get('crop_seconds')} s crops, {s.get('num_workers')} loader workers): {s.get('steps')} "
                    f"steps in {_f(s.get('train_wall_s'), '{:.0f}')} s (stopped by {s.get('stopped_by')}), median "
                    f"{_f(s.get('audio_s_per_s_median'), '{:,.1f}')} s of audio per second, median MFU "
                    f"{_f(s.get('mfu_median'), '{:.1%}')}, final loss {_f(s.get('final_loss'), '{:.4f}')}.", ""]
        curve = s.get("loss_curve", [])
        if curve:
            step = max(1, len(curve) // 12)
            pick = curve[::step] + ([curve[-1]] if (len(curve) - 1) % step else [])
            out += _table(["step", "loss", "audio s/s", "MFU"],
                          [[str(c["step"]), f"{c['loss']:.4f}", _f(c["audio_s_per_s"], "{:,.1f}"),
                            f"{c['mfu']:.1%}"] for c in pick])
    return out


def _cpu(sec: dict) -> list[str]:
    ref = sec.get("reference")
    out = [f"{sec.get('threads')} threads, {sec.get('audio')}, {sec.get('clip_seconds')} s, batch 1, every layer, "
           f"random weights, median of {sec.get('rounds')} interleaved rounds; load average (1/5/15 min) "
           f"{sec.get('load_before')} before, {sec.get('load_after')} after, 1-min load after each round "
           f"{sec.get('round_loads')}. This CPU: {sec.get('native_bf16_why')}; usad's default here: "
           f"{sec.get('default_dtype_here')}.", ""]
    rows = [[r["model"], _p(r["params_m"]), _f(r["float32 s/s"], "{:.1f}"),
             _f(r["bf16 autocast s/s"], "{:.1f}"), _f(r["bf16 weights s/s"], "{:.1f}"),
             f"{r['autocast speed-up']:.2f}x", f"{r['weights speed-up']:.2f}x", f"{r['fp32 speed vs ' + ref]:.2f}x",
             _f(r["autocast min layer cos"], "{:.5f}"), _f(r["weights min layer cos"], "{:.5f}")]
            for r in sec.get("results", [])]
    out += _table(["model", "params M", "fp32 s/s", "bf16 autocast s/s", "bf16 weights s/s", "autocast / fp32",
                   "weights / fp32", f"fp32 vs {ref} fp32", "autocast min layer cos", "weights min layer cos"], rows)
    trained = sec.get("trained", [])
    if trained:
        out += ["", "Fidelity on real (trained) weights, same clip:", ""]
        t_rows = []
        for r in trained:
            if "skipped" in r:
                t_rows.append([r.get("model", "-"), f"skipped: {r['skipped']}", "-", "-", "-", "-"])
                continue
            for form in ("bf16 autocast", "bf16 weights"):
                f = r[form]
                t_rows.append([r["model"], form, _f(f["min_layer_cos"], "{:.5f}"), _f(f["min_frame_cos"], "{:.4f}"),
                               _f(f["max_rel_err"], "{:.4f}"), "yes" if f["holds"] else "no"])
        out += _table(["model", "form", "min layer cosine", "worst frame cosine", "max rel. error",
                       "cosine >= 0.999 on every layer"], t_rows)
    out += ["", f"bf16 autocast keeps cosine >= 0.999 on every layer of every usad model above (random and real "
                f"weights; the rule behind usad's CPU default): {'yes' if sec.get('fidelity_holds_autocast') else 'no'}."]
    return out


SECTIONS = [("env", "Environment", _env), ("inference", "Inference", _inference), ("peers", "Peers", _peers),
            ("train", "Training step", _train), ("distill", "Distillation run", _distill),
            ("cpu_bf16", "bf16 against fp32 on CPU", _cpu)]


def markdown(result: dict) -> str:
    lines = ["# usad performance check", "",
             f"`{result.get('command')}` ({result.get('mode')} mode, device {result.get('device')}), "
             f"{result.get('created')}, {_f(result.get('elapsed_s'), '{:.0f}')} s of a "
             f"{_f(result.get('budget_s'), '{:.0f}')} s budget.", "",
             f"Anchors: {ANCHORS['source']}. Targets: base >= 45k, large >= 16k, xlarge >= 18k s of audio/s; "
             f"{TARGETS['relpos']}; training >= 40% MFU.", ""]
    for key, title, fn in SECTIONS:
        sec = result.get(key)
        if sec is None:
            continue
        lines += [f"## {title} (`{key}`)", ""]
        st = _status(sec)
        if st:
            lines += [st, ""]
            if not st.startswith("failed"):
                continue
        if key != "env":
            lines += [_head(sec), ""]
        try:
            lines += fn(sec)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:   # a partial section still reports
            lines += [f"(could not format this section: {type(exc).__name__}: {exc}; see gpu_check.json)"]
        lines += [""]
    return "\n".join(lines)
