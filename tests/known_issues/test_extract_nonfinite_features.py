"""`usad extract` wrote all-NaN features and exited 0 when the model gave NaN/Inf (`usad probe` caught it).
Such inputs are now reported as failed, nothing is written for them, and the exit code is 1."""
import json

import numpy as np
import soundfile as sf
import torch

from usad import Encoder
from usad.cli.main import main


def test_nan_model_output_fails_the_input_and_writes_nothing(tmp_path, capsys):
    enc = Encoder.from_preset("small", num_layers=2, dim=32, num_heads=2)
    with torch.no_grad():
        enc.blocks[1].ffn[0].weight.fill_(float("nan"))      # a diverged checkpoint: block 2 gives NaN
    enc.save_pretrained(tmp_path / "diverged")
    sf.write(tmp_path / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(16000), 16000)
    out = tmp_path / "out"
    rc = main(["extract", str(tmp_path / "a.wav"), "--model", str(tmp_path / "diverged"), "--out", str(out)])
    assert rc == 1
    assert not (out / "a.npy").exists()
    summary = json.loads((out / "extract_summary.json").read_text())
    assert summary["written"] == []
    assert "NaN/Inf" in summary["failed"][str(tmp_path / "a.wav")] and "layer(s) [2]" in \
        summary["failed"][str(tmp_path / "a.wav")]
    assert "FAILED" in capsys.readouterr().out


def test_finite_layers_of_the_same_model_still_extract(tmp_path):
    enc = Encoder.from_preset("small", num_layers=2, dim=32, num_heads=2)
    with torch.no_grad():
        enc.blocks[1].ffn[0].weight.fill_(float("nan"))
    enc.save_pretrained(tmp_path / "diverged")
    sf.write(tmp_path / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(16000), 16000)
    rc = main(["extract", str(tmp_path / "a.wav"), "--model", str(tmp_path / "diverged"), "--out",
               str(tmp_path / "out"), "--layers", "1"])
    assert rc == 0 and np.isfinite(np.load(tmp_path / "out" / "a.npy")).all()
