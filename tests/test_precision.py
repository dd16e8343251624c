"""The CPU precision default: bf16 autocast where the CPU has native bf16, float32 elsewhere or when forced, for
`usad extract` and the adapters alike."""
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from usad import ConfigError, Encoder
from usad import precision
from usad.adapters import hear
from usad.adapters.s3prl import USADUpstream
from usad.adapters.xares import USADEncoder
from usad.cli.main import main

TINY = "preset:small,num_layers=2,dim=32,num_heads=2"


@pytest.fixture
def native(monkeypatch):
    """Pretend the CPU has (True) or lacks (False) native bf16."""
    def set_native(value: bool):
        monkeypatch.setattr(precision, "cpu_native_bf16", lambda: (value, "test"))
    monkeypatch.delenv(precision.ENV_DTYPE, raising=False)
    return set_native


def test_auto_is_bf16_only_on_a_cpu_with_native_bf16(native):
    native(True)
    assert precision.resolve_dtype("auto", "cpu") == "bfloat16"
    assert precision.resolve_dtype(None, "cpu") == "bfloat16"
    assert precision.resolve_dtype("auto", "cuda") == "float32"
    native(False)
    assert precision.resolve_dtype("auto", "cpu") == "float32"
    assert precision.resolve_dtype("bfloat16", "cpu") == "bfloat16"   # asked for explicitly


def test_env_var_and_argument_force_float32(native, monkeypatch):
    native(True)
    monkeypatch.setenv(precision.ENV_DTYPE, "float32")
    assert precision.resolve_dtype(None, "cpu") == "float32"
    assert precision.resolve_dtype("fp32", "cpu") == "float32" and precision.resolve_dtype(torch.float32) == "float32"
    monkeypatch.setenv(precision.ENV_DTYPE, "double")
    with pytest.raises(ConfigError, match="USAD_DTYPE"):
        precision.resolve_dtype(None, "cpu")


def test_detection_reads_the_cpu_flags(monkeypatch, tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_tile\n")
    assert "avx512_bf16" in precision._cpuinfo_flags(str(info))
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2\n")
    assert not set(precision.NATIVE_BF16_FLAGS) & precision._cpuinfo_flags(str(info))


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0))


def test_adapters_default_to_bf16_on_native_cpus_and_stay_close_to_float32(native):
    native(True)
    audio = torch.randn(2, 16000) * 0.1
    fast, exact = USADEncoder(TINY), USADEncoder(TINY, dtype="float32")
    assert fast.precision.dtype == "bfloat16" and exact.precision.dtype == "float32"
    a, b = fast(audio), exact(audio)
    assert a.dtype == b.dtype == torch.float32
    assert not torch.equal(a, b) and _cos(a, b) > 0.999           # bf16 ran, and it is faithful
    with torch.no_grad():
        direct = exact.encoder(audio).hidden_states[-1]
    assert torch.allclose(b, direct, atol=1e-6)                    # float32 is the plain encoder call
    up = USADUpstream(TINY)
    hs, _ = up(audio)
    assert up.precision.dtype == "bfloat16" and all(h.dtype == torch.float32 for h in hs)
    model = hear.load_model(TINY, dtype="float32")
    assert model.precision.dtype == "float32"
    native(False)
    assert USADEncoder(TINY).precision.dtype == "float32"


def test_extract_default_and_forced_float32(native, tmp_path):
    native(True)
    sf.write(tmp_path / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(16000), 16000)
    Encoder.from_preset("small", num_layers=2, dim=32, num_heads=2).save_pretrained(tmp_path / "m")
    outs = {}
    for name, extra in (("auto", []), ("fp32", ["--dtype", "float32"])):
        assert main(["extract", str(tmp_path / "a.wav"), "--model", str(tmp_path / "m"), "--out",
                     str(tmp_path / name), *extra]) == 0
        outs[name] = np.load(tmp_path / name / "a.npy")
        summary = json.loads((tmp_path / name / "extract_summary.json").read_text())
        outs[name + "_precision"] = summary["precision"]
    assert outs["auto_precision"].startswith("bfloat16 (auto") and outs["fp32_precision"].startswith("float32")
    enc = Encoder.from_pretrained(tmp_path / "m")
    from usad import load_audio
    with torch.no_grad():
        ref = torch.stack(enc(load_audio(tmp_path / "a.wav")[None]).hidden_states[1:])[:, 0].numpy()
    np.testing.assert_allclose(outs["fp32"], ref, atol=1e-5)
    assert _cos(torch.from_numpy(outs["auto"]), torch.from_numpy(ref)) > 0.999
    assert not np.array_equal(outs["auto"], ref)
