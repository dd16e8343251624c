import subprocess
import sys

import pytest
import torch

from usad.distill.upscale import default_plan, parse_plan, upscale_checkpoint
from usad.model import Encoder


def test_default_plan_is_the_papers_32_to_48():
    plan = default_plan(32)
    assert plan == list(range(0, 24)) + list(range(8, 32)) and len(plan) == 48
    assert parse_plan("0-23,8-31", 32) == plan


def test_plan_errors_are_actionable():
    with pytest.raises(ValueError, match="0..3"):
        parse_plan("0-4", 4)
    with pytest.raises(ValueError, match="range"):
        parse_plan("3-1", 4)


def test_upscaled_blocks_are_copies_and_checkpoint_loads(tmp_path):
    torch.manual_seed(0)
    enc = Encoder.from_preset("small", dim=32, num_layers=4, num_heads=2, conv_pos_groups=4, conv_channels=8)
    enc.save_pretrained(tmp_path / "in")
    out = tmp_path / "out"
    code = subprocess.run([sys.executable, "-m", "usad", "upscale", "--in", str(tmp_path / "in"), "--out",
                           str(out), "--plan", "0-2,1-3"], capture_output=True, text=True)
    assert code.returncode == 0, code.stderr
    deep = Encoder.from_pretrained(out)
    assert deep.config.num_layers == 6
    plan = [0, 1, 2, 1, 2, 3]
    old, new = enc.state_dict(), deep.state_dict()
    for i, src in enumerate(plan):
        for k, v in enc.blocks[src].state_dict().items():
            assert torch.equal(new[f"blocks.{i}.{k}"], v)
    for k in old:
        if not k.startswith("blocks."):
            assert torch.equal(new[k], old[k])
    wav = torch.randn(1, 8000) * 0.1
    assert len(deep(wav).hidden_states) == 7


def test_upscale_default_plan_api(tmp_path):
    enc = Encoder.from_preset("small", dim=32, num_layers=4, num_heads=2, conv_pos_groups=4, conv_channels=8)
    enc.save_pretrained(tmp_path / "in")
    out = upscale_checkpoint(tmp_path / "in", tmp_path / "out")
    assert Encoder.from_pretrained(out).config.num_layers == 6   # 0-2 then 1-3
