"""Presets reproduce the published parameter counts (relpos scheme) and the config validates itself."""
import pytest
import torch

from usad import Encoder, EncoderConfig
from usad.model.config import PRESETS, PUBLISHED_PARAMS, preset_config


def _count(name: str, **kw) -> int:
    with torch.device("meta"):  # no memory, no init cost
        model = Encoder(preset_config(name, **kw))
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_relpos_presets_match_published_parameter_counts(name):
    n = _count(name, attention="relpos")
    assert abs(n - PUBLISHED_PARAMS[name]) / PUBLISHED_PARAMS[name] < 0.01


def test_sdpa_drops_only_the_positional_projections():
    c = preset_config("small")
    extra = c.num_layers * (c.dim * c.dim + 2 * c.dim)  # W_pos + u + v per layer
    assert _count("small", attention="relpos") - _count("small") == extra


def test_frame_rates_of_presets():
    assert [preset_config(n).frame_rate for n in ("small", "base", "large", "xlarge", "xxlarge")] == \
        [50.0, 50.0, 50.0, 25.0, 25.0]


def test_overrides_and_validation():
    enc = Encoder.from_preset("base", num_layers=1, dim=32, num_heads=2)
    assert (enc.config.dim, enc.config.num_layers, enc.config.attention) == (32, 1, "sdpa")
    with pytest.raises(ValueError, match="unknown preset"):
        Encoder.from_preset("huge")
    with pytest.raises(ValueError, match="divisible by num_heads"):
        EncoderConfig(dim=64, num_heads=3)
    with pytest.raises(ValueError, match="attention"):
        EncoderConfig(attention="rope")
