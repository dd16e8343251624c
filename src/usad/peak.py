"""Peak FLOP/s of the device, the denominator of every MFU figure (inference bench and training log).

On a GPU: dense (no sparsity) tensor-core numbers from the vendors' datasheets, by a fragment of
``torch.cuda.get_device_name()`` and the compute dtype; an unknown GPU needs an explicit peak. On a CPU: a measured
float32 matmul rate, so CPU MFU is relative to what this machine's BLAS reaches, not a datasheet.
"""
from __future__ import annotations

import time
from functools import lru_cache

import torch

# dense peak TFLOP/s (no sparsity) per GPU name fragment: (bf16 = fp16 tensor core, fp32 = tf32 tensor core);
# first match wins, so more specific names come first ("A100" before "A10")
GPU_PEAK_TFLOPS: list[tuple[str, float, float]] = [
    ("H200", 989.0, 494.5),
    ("H100 PCIe", 756.0, 378.0),
    ("H100", 989.0, 494.5),
    ("A100", 312.0, 156.0),
    ("L40S", 362.0, 183.0),
    ("L40", 181.0, 90.5),
    ("A6000", 155.0, 38.7),
    ("A5000", 111.0, 27.8),
    ("A10G", 70.0, 35.0),
    ("A10", 125.0, 62.5),
    ("4090", 165.0, 82.6),
    ("V100", 125.0, 15.7),
    ("T4", 65.0, 8.1),
]


@lru_cache(maxsize=None)
def cpu_peak_flops(size: int = 1024, reps: int = 5) -> float:
    """Measured float32 matmul FLOP/s on this CPU (best of ``reps``). Never touches the global RNG (exact resume
    of a training run depends on it)."""
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(size, size, generator=gen), torch.randn(size, size, generator=gen)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size ** 3 / best


def peak_flops(device: torch.device, dtype: str = "bfloat16",
               override_tflops: float | None = None) -> tuple[float, str]:
    """(peak FLOP/s, where it came from) for ``dtype`` (float32 | bfloat16 | float16) on ``device``.

    An unknown GPU gives NaN (so MFU reads "nan", never a made-up number) unless ``override_tflops`` is set.
    """
    if override_tflops:
        return override_tflops * 1e12, "given"
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for frag, half, single in GPU_PEAK_TFLOPS:
            if frag in name:
                return (single if dtype == "float32" else half) * 1e12, f"table: {frag} {dtype} dense"
        return float("nan"), f"unknown GPU {name!r}: give the peak TFLOP/s"
    return cpu_peak_flops(), "measured fp32 matmul on this CPU"
