"""The MFU denominator: the right datasheet row per GPU name and dtype, NaN (never a guess) for an unknown GPU."""
import math

import pytest
import torch

from usad import peak


@pytest.mark.parametrize("name, dtype, tflops", [
    ("NVIDIA H100 80GB HBM3", "bfloat16", 989.0),
    ("NVIDIA H100 PCIe", "bfloat16", 756.0),
    ("NVIDIA H200", "float32", 494.5),
    ("NVIDIA A100-SXM4-80GB", "bfloat16", 312.0),   # must not fall through to the A10 row
    ("NVIDIA A10G", "bfloat16", 70.0),
    ("NVIDIA A10", "bfloat16", 125.0),
    ("NVIDIA L40S", "bfloat16", 362.0),
    ("NVIDIA L40", "float32", 90.5),
])
def test_gpu_rows_match_the_most_specific_name(monkeypatch, name, dtype, tflops):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    value, source = peak.peak_flops(torch.device("cuda"), dtype)
    assert value == tflops * 1e12 and dtype in source


def test_unknown_gpu_gives_nan_unless_a_peak_is_given(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Imaginary GPU 9000")
    value, source = peak.peak_flops(torch.device("cuda"), "bfloat16")
    assert math.isnan(value) and "Imaginary GPU 9000" in source
    assert peak.peak_flops(torch.device("cuda"), "bfloat16", override_tflops=123.0)[0] == 123e12


def test_cpu_peak_is_measured_and_leaves_the_global_rng_alone():
    peak.cpu_peak_flops.cache_clear()
    state = torch.get_rng_state()
    value, source = peak.peak_flops(torch.device("cpu"), "float32")
    assert value > 1e8 and "measured" in source
    assert torch.equal(torch.get_rng_state(), state)
