"""X-ARES, XARES-LLM and s3prl-style adapters over a tiny student."""
import importlib.util

import pytest
import torch

from usad import Encoder
from usad.adapters.s3prl import USADUpstream
from usad.adapters.xares import USADEncoder
from usad.adapters.xares_llm import USADLLMEncoder
from tests.conftest import require

TINY = "preset:small,num_layers=2,dim=32,num_heads=2"


def test_xares_encoder_passes_the_official_audio_encoder_check():
    found = importlib.util.find_spec("xares") is not None and importlib.util.find_spec("loguru") is not None
    require(found, "xares (scripts/setup.sh installs it --no-deps) and loguru")
    from xares.audio_encoder_checker import check_audio_encoder  # the official checker

    assert check_audio_encoder(USADEncoder(TINY))


def test_xares_encoder_contract():
    enc = USADEncoder(TINY)
    assert type(enc).__name__.endswith("Encoder") and isinstance(enc, torch.nn.Module)
    assert enc.sampling_rate == 16000 and enc.output_dim == 32 and enc.hop_size_in_ms == pytest.approx(20.0)
    out = enc(torch.randn(2, 50000))
    assert isinstance(out, torch.Tensor) and out.ndim == 3 and out.shape[0] == 2 and out.shape[2] == enc.output_dim


def test_attention_mask_gives_the_same_frames_as_the_clip_alone():
    enc = USADLLMEncoder(TINY, dtype="float32")   # exact at float32; bf16 (the CPU default) is checked elsewhere
    a, b = torch.randn(16000) * 0.1, torch.randn(9000) * 0.1
    batch = torch.zeros(2, 16000)
    batch[0], batch[1, :9000] = a, b
    att = torch.zeros(2, 16000, dtype=torch.long)
    att[0], att[1, :9000] = 1, 1
    feats, fmask = enc(batch, att)
    alone, amask = enc(b.unsqueeze(0))
    n = int(amask.sum())
    assert feats.shape[2] == enc.output_dim and fmask.dtype == torch.bool
    assert int(fmask[1].sum()) == n and not feats[1, n:].any()
    assert torch.allclose(feats[1, :n], alone[0, :n], atol=1e-4)


def test_s3prl_upstream_returns_every_layer_and_lengths():
    up = USADUpstream(TINY)
    hs, lens = up([torch.randn(16000) * 0.1, torch.randn(8000) * 0.1])
    assert len(hs) == up.num_layers == 3 and len(lens) == 3
    assert all(h.shape[0] == 2 and h.shape[2] == 32 for h in hs)
    assert lens[0].tolist() == [up.encoder.num_frames(16000), up.encoder.num_frames(8000)]
    assert up.downsample_rate == 320


def test_adapters_accept_a_saved_student(tmp_path):
    Encoder.from_preset("small", num_layers=1, dim=32, num_heads=2).save_pretrained(tmp_path / "student")
    enc = USADEncoder(str(tmp_path / "student"))
    assert enc(torch.randn(1, 16000)).shape[2] == 32
