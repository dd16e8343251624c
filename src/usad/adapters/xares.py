"""X-ARES encoder for a usad student (``xares.audio_encoder_checker.check_audio_encoder`` contract):
``sampling_rate``, ``output_dim``, ``hop_size_in_ms``; ``forward(audio: (B, S), audio_attention_mask=None)
-> (B, T, D)`` (padded frames zeroed).

X-ARES's runner builds the class with no arguments (``python -m xares.run usad/adapters/xares.py TASKS...``):
then ``USAD_MODEL`` (student folder, hub id or ``preset:NAME``), ``USAD_LAYER``, ``USAD_DEVICE`` and ``USAD_DTYPE``
(auto: bfloat16 autocast on a CPU with native bf16; float32 forces full precision) choose the model; or write a file for one model with ``usad adapter --for xares --model DIR --out encoder.py``.
"""
from __future__ import annotations

import torch
from torch import nn

from usad.adapters.loading import (Precision, device_from_env, layer_from_env, load_encoder, mask_from_attention,
                                   pick_layer)


class USADEncoder(nn.Module):
    sampling_rate = 16000

    def __init__(self, model: str | nn.Module | None = None, layer: int | str | None = None,
                 device: str | None = None, dtype: str | None = None) -> None:
        super().__init__()
        self.encoder = load_encoder(model, device_from_env(device))
        self.precision = Precision(dtype, next(self.encoder.parameters()).device)
        self.layer = layer_from_env(layer)
        self.output_dim = int(self.encoder.config.dim)
        self.hop_size_in_ms = 1000.0 / float(self.encoder.config.frame_rate)

    @torch.no_grad()
    def encode(self, audio: torch.Tensor, audio_attention_mask: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> features (B, T, D) with padded frames zeroed, feature mask (B, T) bool (True = valid)."""
        if audio.dim() == 1:
            audio = audio.unsqueeze(0)
        lengths = mask_from_attention(audio, audio_attention_mask)
        with self.precision:
            out = self.encoder(audio.float(), lengths)
        x = pick_layer(out, self.layer).float()
        return x * out.mask.unsqueeze(-1), out.mask

    def forward(self, audio: torch.Tensor, audio_attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.encode(audio, audio_attention_mask)[0]
