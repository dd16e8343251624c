"""The benchmark's analytical FLOP count agrees with torch's FLOP counter; a run returns sane fields."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from usad import Encoder
from usad.bench import batch_lengths, bench_one, clip_flops


@pytest.mark.parametrize("attention,frame_rate", [("sdpa", 50.0), ("relpos", 50.0), ("sdpa", 25.0)])
def test_analytic_flops_match_torch_flop_counter(attention, frame_rate):
    enc = Encoder.from_preset("small", num_layers=2, dim=64, num_heads=2, attention=attention,
                              frame_rate=frame_rate).eval()
    samples = 16000
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        enc(torch.zeros(1, samples) + 0.01)
    t = enc.num_frames(samples)
    # torch's counter does not see the fused CPU SDPA kernel (QK^T and AV): add that term, 4 T^2 d per layer
    counted = counter.get_total_flops() + enc.config.num_layers * 4 * t * t * enc.config.dim
    assert abs(clip_flops(enc.config, samples) - counted) / counted < 0.02


def test_bench_one_reports_throughput_and_mfu():
    enc = Encoder.from_preset("small", num_layers=1, dim=32, num_heads=2)
    r = bench_one("tiny", batch=2, seconds=1.0, warmup=1, iters=1, peak_tflops=1.0, model=enc)
    assert r.audio_s_per_s > 0 and 0 < r.mfu < 1 and r.peak_tflops == 1.0 and r.batch == 2
    assert batch_lengths(3, 1000).tolist() == [1000, 750, 500]


def test_bench_cli_prints_table_and_writes_json(tmp_path, capsys):
    import json

    from usad.cli.main import main

    out = tmp_path / "bench.json"
    rc = main(["bench", "--presets", "small", "--batch-sizes", "2", "--seconds", "0.5", "--warmup", "0",
               "--iters", "1", "--peak-tflops", "1", "--json", str(out)])
    assert rc == 0 and "audio s/s" in capsys.readouterr().out
    rows = json.loads(out.read_text())["results"]
    assert len(rows) == 1 and rows[0]["preset"] == "small" and rows[0]["batch"] == 2 and rows[0]["mfu"] > 0
