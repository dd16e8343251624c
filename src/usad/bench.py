"""Encoder inference benchmark: throughput (seconds of audio per second) and model FLOPs utilisation (MFU).

FLOPs are counted analytically on the *valid* frames of each clip (padding is wasted work, not useful FLOPs).
Per clip with ``F`` fbank frames, ``T1`` frames after the first conv, ``T`` encoder frames, width ``d``,
``L`` layers, ``C = 64`` conv channels, ``M = 128`` mel bins:

- mel projection: ``2 * 257 * M`` per fbank frame (FFT and framing are ignored: O(N log N), small);
- conv subsampler: ``2 * 9 * C * T1 * M/2`` (conv1) + ``2 * 9 * C * C * T * M/4`` (conv2, 25 Hz: its own T)
  + ``2 * (C * M/4) * d * T`` (Linear);
- positional conv: ``depth * 2 * k * d * (d / groups) * T``;
- per block and frame: ``2 * 12 d^2`` (q, k, v, o = 4 d^2 and FFN = 8 d^2, i.e. 2 x matmul params)
  + ``4 * T * d`` (QK^T and AV over T keys); relpos adds ``4 * T * d`` ((q + v) . p over 2T-1 offsets)
  and ``2 * (2T - 1) * d^2`` per clip for the positional projection.

MFU = counted FLOPs / elapsed / peak (:func:`usad.peak.peak_flops`: ``--peak-tflops``, else a table of known GPUs,
dense tensor-core numbers, H100 SXM bf16 989 TFLOP/s; on CPU a measured float32 matmul rate).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch

from usad.frontend import num_fbank_frames
from usad.model.config import EncoderConfig, preset_config
from usad.model.encoder import Encoder
from usad.peak import peak_flops

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def clip_flops(config: EncoderConfig, num_samples: int) -> float:
    """Analytical forward FLOPs of one clip of ``num_samples`` (formula in the module docstring)."""
    c, d, m = config.conv_channels, config.dim, config.n_mels
    f = num_fbank_frames(num_samples)
    t1 = math.ceil(f / 2)
    t = math.ceil(t1 / 2) if config.time_stride == 4 else t1
    m2, m4 = math.ceil(m / 2), math.ceil(math.ceil(m / 2) / 2)
    flops = 2.0 * 257 * m * f
    flops += 2.0 * 9 * c * t1 * m2 + 2.0 * 9 * c * c * t * m4 + 2.0 * c * m4 * d * t
    flops += config.conv_pos_depth * 2.0 * config.conv_pos_kernel * d * (d / config.conv_pos_groups) * t
    per_block = 2.0 * 12 * d * d * t + 4.0 * t * t * d
    if config.attention == "relpos":
        per_block += 4.0 * t * t * d + 2.0 * (2 * t - 1) * d * d
    return flops + config.num_layers * per_block


@dataclass
class BenchResult:
    preset: str
    attention: str
    dtype: str
    batch: int
    seconds: float
    device: str
    params_m: float
    audio_s_per_s: float
    tflops: float
    mfu: float
    peak_tflops: float
    peak_source: str
    peak_mem_gb: float | None
    iters: int

    def to_dict(self) -> dict:
        return asdict(self)


def batch_lengths(batch: int, samples: int) -> torch.Tensor:
    """Valid lengths spread evenly from 100% down to 50% of ``samples`` (the first clip is full length)."""
    if batch == 1:
        return torch.tensor([samples])
    return torch.linspace(1.0, 0.5, batch).mul(samples).round().long()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_one(preset: str, attention: str = "sdpa", dtype: str = "float32", batch: int = 1, seconds: float = 10.0,
              device: str = "cpu", warmup: int = 2, iters: int = 5, peak_tflops: float | None = None,
              model: Encoder | None = None) -> BenchResult:
    """Time ``iters`` forward passes returning all layers on a padded batch (lengths 50-100%)."""
    dev = torch.device(device)
    torch_dtype = DTYPES[dtype]
    config = model.config if model is not None else preset_config(preset, attention=attention)
    if model is None:
        with torch.device(dev):
            model = Encoder(config)
    model = model.to(device=dev, dtype=torch_dtype).eval()
    samples = int(seconds * 16000)
    lengths = batch_lengths(batch, samples)
    wav = 0.1 * torch.randn(batch, samples, generator=torch.Generator().manual_seed(0))
    wav, lengths = wav.to(dev), lengths.to(dev)
    flops = sum(clip_flops(config, int(n)) for n in lengths.tolist())
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    with torch.inference_mode():
        for _ in range(warmup):
            model(wav, lengths)
        _sync(dev)
        start = time.perf_counter()
        for _ in range(iters):
            out = model(wav, lengths)
        _sync(dev)
        elapsed = time.perf_counter() - start
    assert len(out.hidden_states) == config.num_layers + 1
    peak, source = peak_flops(dev, dtype, peak_tflops)
    achieved = flops * iters / elapsed
    return BenchResult(
        preset=preset, attention=config.attention, dtype=dtype, batch=batch, seconds=seconds, device=str(dev),
        params_m=sum(p.numel() for p in model.parameters()) / 1e6,
        audio_s_per_s=float(lengths.sum()) / 16000 * iters / elapsed, tflops=achieved / 1e12,
        mfu=achieved / peak, peak_tflops=peak / 1e12, peak_source=source,
        peak_mem_gb=torch.cuda.max_memory_allocated(dev) / 2 ** 30 if dev.type == "cuda" else None, iters=iters)
