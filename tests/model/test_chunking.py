"""Long audio runs in bounded chunks and stitches to (almost) the unchunked result."""
import pytest
import torch

from usad import Encoder
from usad.model.chunking import chunk_plan


@pytest.mark.parametrize("attention", ["sdpa", "relpos"])
def test_chunked_matches_unchunked_with_bounded_chunks(attention):
    torch.manual_seed(0)
    enc = Encoder.from_preset("small", num_layers=2, dim=64, num_heads=2, attention=attention).eval()
    n = 16000 * 20 + 1000  # a short sixth core that still holds two frames
    t = torch.arange(n, dtype=torch.float32)
    sig = 0.1 * torch.randn(n, generator=torch.Generator().manual_seed(3)) * torch.sin(t / 3000.0)
    seen = []
    hook = enc.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[-1]))
    with torch.no_grad():
        chunked = enc.extract_long(sig, chunk_seconds=4.0, context_seconds=1.0)
    hook.remove()
    assert len(seen) == 6  # ceil(20.06 / 4) cores, each one forward call
    assert max(seen) <= 16000 * (4 + 2 * 1)  # memory is bounded by chunk + 2 x context
    with torch.no_grad():
        full = enc(sig[None])
    assert chunked.mask.shape == (1, enc.num_frames(n)) and chunked.mask.all()
    assert len(chunked.hidden_states) == 3 and len(chunked.ffn) == 2
    # layer 0 only sees +-47 frames (conv subsampler + positional conv) < the 50-frame context: exact
    torch.testing.assert_close(chunked.hidden_states[0], full.hidden_states[0], atol=1e-4, rtol=1e-4)
    for a, b in zip(chunked.hidden_states[1:] + chunked.ffn, full.hidden_states[1:] + full.ffn):
        assert a.shape == b.shape
        cos = torch.nn.functional.cosine_similarity(a[0], b[0], dim=-1)
        assert float(cos.min()) > 0.999


def test_plan_covers_every_frame_once():
    for rate in (50.0, 25.0):
        for n in (400, 16000 * 3, 16000 * 30 + 1, 16000 * 61 + 77):
            plan = chunk_plan(n, rate, chunk_seconds=10.0, context_seconds=1.0)
            frames = [g for c in plan for g in range(c.frame_start, c.frame_end)]
            total = 1 + (n - 400) // 160
            assert frames == list(range(-(-total // (2 if rate == 50 else 4))))
            assert all(c.end - c.start <= 16000 * 12 for c in plan)


def test_ffn_can_be_dropped_and_output_kept_on_cpu():
    enc = Encoder.from_preset("small", num_layers=1, dim=32, num_heads=2).eval()
    out = enc.extract_long(torch.zeros(16000 * 5), chunk_seconds=2.0, context_seconds=0.5, include_ffn=False,
                           target_layer=1)
    assert out.ffn == [] and len(out.hidden_states) == 2 and out.hidden_states[0].device.type == "cpu"


def test_ten_minute_file_runs_in_twenty_bounded_chunks():
    plan = chunk_plan(16000 * 600, 50.0)  # defaults: 30 s cores, 5 s context
    assert len(plan) == 20 and max(c.end - c.start for c in plan) == 16000 * 40
    assert plan[-1].frame_end == 1 + (16000 * 600 - 400) // 320
