"""Inference precision of the student encoder: float32, or bfloat16 autocast where the CPU computes bf16 natively.

``usad extract``, the adapters (HEAR, X-ARES, XARES-LLM, s3prl) and :func:`autocast` share one rule:

- ``"auto"`` (the default): on a CPU with native bf16 matrix instructions (x86 ``avx512_bf16`` or ``amx_bf16``),
  **bfloat16**; on any other CPU and on GPUs, **float32**. Native support is read from torch's own CPU checks
  (``torch.cpu._is_avx512_bf16_supported`` / ``_is_amx_tile_supported``, where this torch has them) and from the
  flags in ``/proc/cpuinfo``; ``torch.backends.cpu.get_cpu_capability()`` is not enough (it says "AVX512" with or
  without the bf16 extension). Other CPUs (Arm's bf16 included) stay float32 until a measurement says otherwise.
- ``"float32"`` forces full precision (``--dtype float32``, ``dtype="float32"``, ``USAD_DTYPE=float32``);
  ``"bfloat16"`` / ``"float16"`` ask for that precision on any device.

bfloat16 (and float16) means autocast over float32 weights: matrix products and convolutions run in bf16, while
the fbank front end stays float32 and so do the ops autocast keeps in float32. Autocast, not bf16 weights: with
the weights cast, the conv subsampler already sees a bf16-rounded fbank and a student whose blocks hold real
(whisper-base) weights fell below cosine 0.999 against float32, where autocast stayed above it on every layer
(docs/encoder.md, "bf16 on CPU", has the measurements and the command).
"""
from __future__ import annotations

import contextlib
import os
from functools import lru_cache

import torch

from usad.errors import ConfigError

DTYPE_CHOICES = ("auto", "float32", "bfloat16", "float16")
ENV_DTYPE = "USAD_DTYPE"
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _cpuinfo_flags(path: str = "/proc/cpuinfo") -> set[str]:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _torch_cpu_checks() -> dict[str, bool]:
    """What torch's private CPU feature checks say (empty where this torch lacks them)."""
    found = {}
    for name, fn in (("avx512_bf16", "_is_avx512_bf16_supported"), ("amx_tile", "_is_amx_tile_supported")):
        check = getattr(torch.cpu, fn, None)
        if check is not None:
            try:
                found[name] = bool(check())
            except RuntimeError:
                pass
    return found


@lru_cache(maxsize=None)
def cpu_native_bf16() -> tuple[bool, str]:
    """(does this CPU compute bf16 natively, the evidence as one line)."""
    flags = _cpuinfo_flags()
    have = [f for f in NATIVE_BF16_FLAGS if f in flags]
    checks = _torch_cpu_checks()
    said = ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in checks.items())
    if have or checks.get("avx512_bf16"):
        return True, f"native bf16: /proc/cpuinfo {'+'.join(have) or 'no bf16 flag'}; torch {said or 'no check'}"
    return False, (f"no native bf16 ({'/'.join(NATIVE_BF16_FLAGS)} absent from /proc/cpuinfo; torch "
                   f"{said or 'no check'})")


def _device_type(device: str | torch.device | None) -> str:
    return torch.device(device if device is not None else "cpu").type


def resolve_dtype(dtype: str | torch.dtype | None, device: str | torch.device | None = "cpu",
                  source: str = "dtype") -> str:
    """The precision to run in ("float32" | "bfloat16" | "float16") for a request on ``device``.

    ``dtype`` None reads ``$USAD_DTYPE`` (then "auto"); ``source`` names the setting in the error message.
    """
    if dtype is None:
        dtype, source = os.environ.get(ENV_DTYPE, "").strip() or "auto", f"${ENV_DTYPE}"
    if isinstance(dtype, torch.dtype):
        dtype = {v: k for k, v in TORCH_DTYPES.items()}.get(dtype, str(dtype))
    name = str(dtype).strip().lower().removeprefix("torch.")
    name = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}.get(name, name)
    if name not in DTYPE_CHOICES:
        raise ConfigError(f"{source}={dtype!r}: choose one of {', '.join(DTYPE_CHOICES)} (auto = bfloat16 on a "
                          f"CPU with native bf16, else float32)")
    if name != "auto":
        return name
    if _device_type(device) == "cpu" and cpu_native_bf16()[0]:
        return "bfloat16"
    return "float32"


def describe(dtype: str, requested: str | torch.dtype | None, device: str | torch.device | None = "cpu") -> str:
    """One line saying what runs and why, e.g. "bfloat16 (auto: native bf16: ...)"."""
    req = requested if requested is not None else (os.environ.get(ENV_DTYPE, "").strip() or "auto")
    if str(req).lower() != "auto":
        return f"{dtype} (asked for)"
    if _device_type(device) != "cpu":
        return f"{dtype} (auto: float32 on {_device_type(device)})"
    return f"{dtype} (auto: {cpu_native_bf16()[1]})"


def autocast(device: str | torch.device | None, dtype: str):
    """A context that runs the student in ``dtype`` (from :func:`resolve_dtype`): torch.autocast for bf16/fp16,
    nothing for float32. Weights stay float32 either way."""
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(_device_type(device), dtype=TORCH_DTYPES[dtype])
