"""Peak FLOP/s of the device, the denominator of every MFU figure (inference bench and training log).

On a GPU: dense (no sparsity) tensor-core numbers from the vendors' datasheets, by a fragment of
``torch.cuda.get_device_name()`` and the compute dtype; an unknown GPU needs an explicit peak. On a CPU: a measured
float32 matmul rate, so CPU MFU is relative to what this machine's BLAS reaches, not a datasheet.
"""
from __future__ import annotations

import time
from functools import lru_cache

import torch

# dense peak TFLOP/s per (GPU name fragment, dtype); first match wins (more specific names first)
GPU_PEAK_TFLOPS: list[tuple[str, dict[str, float]]] = [
    ("H200", {"bfloat16": 989.0, "float16": 989.0, "float32": 494.5}),
    ("H100 PCIe", {"bfloat16": 756.0, "float16": 756.0, "float32": 378.0}),
    ("H100", {"bfloat16": 989.0, "float16": 989.0, "float32": 494.5}),
    ("A100", {"bfloat16": 312.0, "float16": 312.0, "float32": 156.0}),
    ("L40S", {"bfloat16": 362.0, "float16": 362.0, "float32": 183.0}),
    ("L40", {"bfloat16": 181.0, "float16": 181.0, "float32": 90.5}),
    ("A6000", {"bfloat16": 155.0, "float16": 155.0, "float32": 38.7}),
    ("A5000", {"bfloat16": 111.0, "float16": 111.0, "float32": 27.8}),
    ("A10G", {"bfloat16": 70.0, "float16": 70.0, "float32": 35.0}),
    ("A10", {"bfloat16": 125.0, "float16": 125.0, "float32": 62.5}),
    ("4090", {"bfloat16": 165.0, "float16": 165.0, "float32": 82.6}),
    ("V100", {"bfloat16": 125.0, "float16": 125.0, "float32": 15.7}),
    ("T4", {"bfloat16": 65.0, "float16": 65.0, "float32": 8.1}),
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
        for frag, table in GPU_PEAK_TFLOPS:
            if frag in name:
                return table[dtype] * 1e12, f"table: {frag} {dtype} dense"
        return float("nan"), f"unknown GPU {name!r}: give the peak TFLOP/s"
    return cpu_peak_flops(), "measured fp32 matmul on this CPU"
