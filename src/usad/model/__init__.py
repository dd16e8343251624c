"""The student encoder network."""
from usad.model.config import PRESETS, EncoderConfig, num_frames, preset_config
from usad.model.encoder import Encoder
from usad.model.output import EncoderOutput

__all__ = ["Encoder", "EncoderConfig", "EncoderOutput", "PRESETS", "num_frames", "preset_config"]
