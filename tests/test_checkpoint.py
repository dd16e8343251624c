"""Checkpoints: safetensors + config.json, atomic writes, clear errors for broken or mismatched files."""
import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from usad import CheckpointError, Encoder
from usad.checkpoint import CONFIG_NAME, MODEL_TYPE, WEIGHTS_NAME


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    enc = Encoder.from_preset("small", num_layers=2, dim=32, num_heads=2, attention="relpos").eval()
    path = tmp_path / "ckpt"
    enc.save_pretrained(path)
    return enc, path


def test_roundtrip_reproduces_outputs(saved):
    enc, path = saved
    config = json.loads((path / CONFIG_NAME).read_text())
    assert config["model_type"] == MODEL_TYPE and config["format_version"] == 1 and config["dim"] == 32
    loaded = Encoder.from_pretrained(path)
    assert loaded.config == enc.config and not loaded.training
    wav = 0.1 * torch.randn(2, 8000)
    with torch.no_grad():
        torch.testing.assert_close(loaded(wav).hidden_states[-1], enc(wav).hidden_states[-1])
    half = Encoder.from_pretrained(path, device="cpu", dtype=torch.bfloat16)
    assert half.blocks[0].attn.qkv.weight.dtype == torch.bfloat16


def test_overwrite_is_atomic_and_leaves_no_temp_files(saved):
    enc, path = saved
    (path / "notes.txt").write_text("kept")
    enc.save_pretrained(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["ckpt"]
    assert sorted(p.name for p in path.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME, "notes.txt"]


def test_truncated_weights(saved):
    _, path = saved
    data = (path / WEIGHTS_NAME).read_bytes()
    (path / WEIGHTS_NAME).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        Encoder.from_pretrained(path)


def test_garbage_weights(saved):
    _, path = saved
    (path / WEIGHTS_NAME).write_bytes(b"\x80\x04not a safetensors file, maybe a pickle")
    with pytest.raises(CheckpointError, match=WEIGHTS_NAME):
        Encoder.from_pretrained(path)


def test_missing_key_and_wrong_shape(saved):
    _, path = saved
    weights = load_file(str(path / WEIGHTS_NAME))
    weights.pop("blocks.1.attn.linear_pos.weight")
    weights["blocks.0.ffn.0.weight"] = torch.zeros(3, 3)
    save_file(weights, str(path / WEIGHTS_NAME))
    with pytest.raises(CheckpointError, match="missing.*linear_pos.*shape mismatch.*ffn.0.weight"):
        Encoder.from_pretrained(path)


def test_config_that_does_not_match_weights(saved):
    _, path = saved
    config = json.loads((path / CONFIG_NAME).read_text())
    config["attention"] = "sdpa"  # relpos weights now unexpected
    (path / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="unexpected"):
        Encoder.from_pretrained(path)


@pytest.mark.parametrize("edit,match", [
    (lambda c: c.update(model_type="wavlm"), "model_type"),
    (lambda c: c.update(format_version=99), "format_version"),
    (lambda c: c.update(width=3), "unknown EncoderConfig fields"),
    (lambda c: c.update(num_heads=5), "divisible"),
])
def test_wrong_config(saved, edit, match):
    _, path = saved
    config = json.loads((path / CONFIG_NAME).read_text())
    edit(config)
    (path / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=match):
        Encoder.from_pretrained(path)


def test_missing_files(tmp_path, saved):
    _, path = saved
    with pytest.raises(CheckpointError, match="not a directory"):
        Encoder.from_pretrained(tmp_path / "absent")
    (path / CONFIG_NAME).write_text("{not json")
    with pytest.raises(CheckpointError, match="invalid JSON"):
        Encoder.from_pretrained(path)
    (path / CONFIG_NAME).unlink()
    with pytest.raises(CheckpointError, match="missing config.json"):
        Encoder.from_pretrained(path)
