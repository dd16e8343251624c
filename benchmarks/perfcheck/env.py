"""Section ``env``: the device, driver, library versions and the peak FLOP/s that every MFU figure divides by."""
from __future__ import annotations

import platform
import subprocess
import sys

import torch

from perfcheck.common import load_average


def _version(pkg: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg)
    except PackageNotFoundError:
        return "absent"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _driver() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown (nvidia-smi not answering)"


def run(device: torch.device) -> dict:
    from usad.peak import peak_flops
    from usad.precision import cpu_native_bf16, resolve_dtype

    native, why = cpu_native_bf16()
    env = {"status": "measured", "device": str(device), "python": sys.version.split()[0], "torch": torch.__version__,
           "transformers": _version("transformers"), "lhotse": _version("lhotse"), "cpu": _cpu_name(),
           "cpu_threads": torch.get_num_threads(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "cpu_native_bf16": native, "cpu_native_bf16_why": why, "usad_default_cpu_dtype": resolve_dtype("auto"),
           "load_average": load_average()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update({"gpu": torch.cuda.get_device_name(device), "gpu_memory_gb": round(props.total_memory / 2 ** 30, 1),
                    "sm_count": props.multi_processor_count, "compute_capability": f"{props.major}.{props.minor}",
                    "driver": _driver(), "cuda": torch.version.cuda,
                    "cudnn": torch.backends.cudnn.version(),
                    "tf32_matmul": torch.backends.cuda.matmul.allow_tf32})
    for dtype in ("bfloat16", "float32"):
        peak, source = peak_flops(device, dtype)
        env[f"peak_tflops_{dtype}"] = peak / 1e12
        env[f"peak_source_{dtype}"] = source
    return env
