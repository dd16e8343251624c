"""usad presets against transformers peers on the same input, in one process (CPU inference).

    python benchmarks/bench_cpu_peers.py --threads 2 --json peers.json --markdown peers.md

Every model gets random weights built from its config (nothing is downloaded): usad small/base with sdpa and
relpos attention, and transformers' HuBERT-base, WavLM-base and the Whisper-base encoder. Each sees the same
clip (``--seconds`` of noise, batch 1, float32) and returns every layer's hidden states. Whisper's encoder only
takes its fixed 30 s window, so the clip is padded to 30 s by its feature extractor (included in its time, as
the fbank is in usad's); HuBERT and WavLM read the raw waveform. Passes are interleaved (one pass of every
model per round), so load from other jobs on a shared machine hits every model alike; the median round counts.
Reported: seconds of audio per second and each model's speed as a ratio to ``--reference``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch

USAD = [("usad small/sdpa", "small", "sdpa"), ("usad small/relpos", "small", "relpos"),
        ("usad base/sdpa", "base", "sdpa"), ("usad base/relpos", "base", "relpos")]
PEERS = ("hubert-base", "wavlm-base", "whisper-base-encoder")


def usad_model(preset: str, attention: str, wav: torch.Tensor) -> tuple[torch.nn.Module, Callable[[], object]]:
    from usad import Encoder

    enc = Encoder.from_preset(preset, attention=attention).eval()
    return enc, lambda: enc(wav)   # every layer: hidden states and FFN outputs


def peer_model(name: str, wav: torch.Tensor) -> tuple[torch.nn.Module, Callable[[], object]]:
    """A transformers model with random weights from its default (base-size) config, and its forward call."""
    import transformers as tf

    if name == "hubert-base":
        model = tf.HubertModel(tf.HubertConfig()).eval()
        return model, lambda: model(wav, output_hidden_states=True)
    if name == "wavlm-base":
        model = tf.WavLMModel(tf.WavLMConfig()).eval()
        return model, lambda: model(wav, output_hidden_states=True)
    if name == "whisper-base-encoder":
        from transformers.models.whisper.modeling_whisper import WhisperEncoder

        cfg = tf.WhisperConfig(d_model=512, encoder_layers=6, encoder_attention_heads=8, encoder_ffn_dim=2048,
                               num_mel_bins=80)
        model = WhisperEncoder(cfg).eval()
        fe = tf.WhisperFeatureExtractor(feature_size=80)
        audio = wav[0].numpy()

        def call():
            feats = fe(audio, sampling_rate=16000, return_tensors="pt").input_features   # (1, 80, 3000): 30 s
            return model(feats, output_hidden_states=True)

        return model, call
    raise ValueError(f"unknown peer {name!r}; choose from {PEERS}")


def run(args: argparse.Namespace) -> dict:
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    wav = 0.1 * torch.randn(1, int(args.seconds * 16000))
    models: dict[str, tuple[torch.nn.Module, Callable[[], object]]] = {}
    for label, preset, attention in USAD:
        models[label] = usad_model(preset, attention, wav)
    for name in args.peers:
        models[name] = peer_model(name, wav)
    times: dict[str, list[float]] = {k: [] for k in models}
    with torch.inference_mode():
        for r in range(args.warmup + args.rounds):
            for label, (_, call) in models.items():
                t0 = time.perf_counter()
                call()
                if r >= args.warmup:
                    times[label].append(time.perf_counter() - t0)
            print(f"  round {r + 1}/{args.warmup + args.rounds}{' (warm-up)' if r < args.warmup else ''}",
                  file=sys.stderr, flush=True)
    rows = []
    for label, (model, _) in models.items():
        med = statistics.median(times[label])
        rows.append({"model": label, "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
                     "median_s": med, "audio_s_per_s": args.seconds / med, "times_s": times[label]})
    ref = next((r for r in rows if r["model"] == args.reference), rows[0])
    for r in rows:
        r["speed_vs_reference"] = r["audio_s_per_s"] / ref["audio_s_per_s"]
    return {"reference": ref["model"], "seconds": args.seconds, "batch": 1, "dtype": "float32",
            "threads": torch.get_num_threads(), "rounds": args.rounds, "warmup": args.warmup,
            "torch": torch.__version__, "transformers": _version("transformers"), "results": rows}


def _version(pkg: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg)
    except PackageNotFoundError:
        return "absent"


def markdown(report: dict) -> str:
    lines = [f"CPU, {report['threads']} threads, one {report['seconds']:g} s clip, batch 1, all layers, "
             f"float32, random weights; median of {report['rounds']} interleaved rounds; torch "
             f"{report['torch']}, transformers {report['transformers']}.", "",
             f"| model | params (M) | audio s/s | speed vs {report['reference']} |", "|---|---|---|---|"]
    for r in report["results"]:
        lines.append(f"| {r['model']} | {r['params_m']:.1f} | {r['audio_s_per_s']:.1f} | "
                     f"{r['speed_vs_reference']:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--seconds", type=float, default=10.0, help="clip length (s); Whisper pads it to 30 s")
    p.add_argument("--rounds", type=int, default=5, help="timed rounds (one pass of every model each)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    p.add_argument("--peers", default=",".join(PEERS), help=f"comma list from {','.join(PEERS)} (or empty)")
    p.add_argument("--reference", default="hubert-base", help="the model the speed ratios are relative to")
    p.add_argument("--json", type=Path, help="write the full report here")
    p.add_argument("--markdown", type=Path, help="write the table here")
    args = p.parse_args(argv)
    args.peers = [x for x in args.peers.split(",") if x.strip()]
    report = run(args)
    table = markdown(report)
    print(table, end="")
    if args.json or args.markdown:
        from usad.io import atomic_write_text

        if args.json:
            atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")
        if args.markdown:
            atomic_write_text(args.markdown, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
