"""XARES-LLM encoder contract for a usad student: ``output_dim``;
``forward(audio: (B, S), audio_attention_mask: (B, S)) -> (features (B, T, D), feature_mask (B, T) bool)``.
The released "+" models read an intermediate layer for LLM use; pass ``layer=`` (default: the last)."""
from __future__ import annotations

import torch

from usad.adapters.xares import USADEncoder


class USADLLMEncoder(USADEncoder):
    def forward(self, audio: torch.Tensor, audio_attention_mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode(audio, audio_attention_mask)
