"""What one encoder call returns."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class EncoderOutput:
    """Layer outputs of the student encoder.

    hidden_states: list of (B, T, D); index 0 = input to block 1 (after conv subsampler + conv positional
        encoder), index l = output of block l (1-based); length num_layers + 1 (or target_layer + 1).
    ffn: list of (B, T, D); ffn[l - 1] = FFN branch output of block l, before its residual add.
    mask: (B, T) bool, True = valid frame.
    frame_rate: frames per second (50.0 or 25.0).
    """

    hidden_states: list[torch.Tensor]
    ffn: list[torch.Tensor]
    mask: torch.Tensor
    frame_rate: float

    @property
    def lengths(self) -> torch.Tensor:
        """(B,) number of valid frames per clip."""
        return self.mask.sum(dim=1)

    @property
    def last_hidden_state(self) -> torch.Tensor:
        return self.hidden_states[-1]

    def layer(self, index: int, feature: str = "hidden") -> torch.Tensor:
        """Hidden state (index 0..L) or FFN output (index 1..L) of student layer ``index``."""
        if feature == "hidden":
            return self.hidden_states[index]
        if feature == "ffn":
            if index < 1:
                raise IndexError("FFN outputs exist for layers 1..num_layers only")
            return self.ffn[index - 1]
        raise ValueError(f"feature must be 'hidden' or 'ffn', got {feature!r}")
