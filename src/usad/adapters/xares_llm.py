"""XARES-LLM encoder contract for a usad student: ``output_dim``;
``forward(audio: (B, S), audio_attention_mask: (B, S) | None) -> (features (B, T, D), feature_mask (B, T) bool)``.
The released "+" models read an intermediate layer for LLM use; pass ``layer=`` (default: the last).

XARES-LLM builds the encoder from a file (the one class whose name ends in ``Encoder``) or a dotted name
(``usad.adapters.xares_llm.USADLLMEncoder``), with no arguments from its runner: ``USAD_MODEL``/``USAD_LAYER``/
``USAD_DEVICE`` then choose the model (see usad.adapters.xares), or ``usad adapter --for xares-llm`` writes a file.
"""
from __future__ import annotations

import torch

from usad.adapters import xares as _xares  # a module alias: this file must expose exactly one *Encoder name


class USADLLMEncoder(_xares.USADEncoder):
    def forward(self, audio: torch.Tensor, audio_attention_mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode(audio, audio_attention_mask)
