"""FLOP estimates for MFU: transformer-style 6 * params * frames plus the attention score terms.

Per training step (forward + backward = 3 x forward): 6 * N * sum_b T_b + 12 * L * D * sum_b T_b^2, with N the
trainable parameters (student + heads; the conv front end is counted by its parameters, an underestimate) and
T_b the student frames of clip b. An estimate, like nanoGPT's; teachers' FLOPs are not counted.
"""
from __future__ import annotations

import time

import torch

# dense bf16 peak (no sparsity), FLOP/s, by substring of torch.cuda.get_device_name()
GPU_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "A10": 125e12, "L40": 181e12, "A6000": 155e12,
            "A5000": 111e12, "4090": 165e12, "V100": 125e12, "T4": 65e12}


def train_flops(num_params: int, num_layers: int, dim: int, frames: torch.Tensor) -> float:
    """frames: (B,) student frames per clip -> estimated FLOPs of one forward+backward."""
    f = frames.double()
    return float(6.0 * num_params * f.sum() + 12.0 * num_layers * dim * (f * f).sum())


def measured_cpu_peak(seconds: float = 0.3, n: int = 512) -> float:
    """FLOP/s of a float32 n x n matmul loop on this CPU (the practical peak MFU is measured against)."""
    gen = torch.Generator().manual_seed(0)  # never touch the global RNG (exact resume depends on it)
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2.0 * n ** 3 * count / (time.perf_counter() - start)


def peak_flops(device: torch.device, override_tflops: float | None = None) -> tuple[float, str]:
    """(peak FLOP/s, where it came from)."""
    if override_tflops:
        return override_tflops * 1e12, "config"
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, value in GPU_PEAK.items():
            if key in name:
                return value, f"table ({name}, bf16 dense)"
        return 100e12, f"guess for {name}; set train.peak_tflops"
    return measured_cpu_peak(), "measured fp32 matmul"
