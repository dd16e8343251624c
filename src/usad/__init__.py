"""usad: universal audio encoders by multi-teacher distillation (USAD 2.0)."""
__version__ = "0.1.0"

from usad.errors import ConfigError, UsadError  # noqa: E402
from usad.audio import AudioError, load_audio, resample  # noqa: E402
from usad.checkpoint import CheckpointError  # noqa: E402
from usad.model import Encoder, EncoderConfig, EncoderOutput  # noqa: E402

__all__ = ["AudioError", "CheckpointError", "ConfigError", "Encoder", "EncoderConfig", "EncoderOutput",
           "UsadError", "load_audio", "resample", "__version__"]
