"""HEAR 2021 API for a usad student: ``python -m hearvalidator usad.adapters.hear -m STUDENT_DIR``.

- ``load_model(model_file_path="", layer="last", device="cpu", dtype=None)``: a student folder (or ``preset:NAME``
  for random weights); ``layer`` is a block index, "last" or "mean" (mean of all hidden states); ``dtype`` None
  reads ``USAD_DTYPE``, then "auto" (bfloat16 autocast on a CPU with native bf16; "float32" forces full precision).
- ``get_timestamp_embeddings(audio: (n, S) 16 kHz, model) -> (emb (n, T, D) float32, timestamps (n, T) ms)``;
  timestamps are frame centres, (t + 0.5) / frame_rate seconds.
- ``get_scene_embeddings(audio, model) -> (n, D) float32``: mean of the timestamp embeddings.
Clips longer than ``chunk_seconds`` (30 s) run one at a time through ``Encoder.extract_long``.
"""
from __future__ import annotations

import torch
from torch import nn

from usad.adapters.loading import Precision, load_encoder, pick_layer


class HearModel(nn.Module):
    sample_rate = 16000

    def __init__(self, encoder: nn.Module, layer: int | str = "last", chunk_seconds: float = 30.0,
                 dtype: str | None = None) -> None:
        super().__init__()
        self.encoder, self.layer, self.chunk_seconds = encoder, layer, chunk_seconds
        self.precision = Precision(dtype, next(encoder.parameters()).device)
        dim = int(encoder.config.dim)
        self.scene_embedding_size = dim
        self.timestamp_embedding_size = dim

    @torch.no_grad()
    def frames(self, audio: torch.Tensor) -> torch.Tensor:
        """audio: (n, S) -> (n, T, D) float32."""
        if audio.dim() != 2:
            raise ValueError(f"HEAR audio must be (n_sounds, n_samples); got {tuple(audio.shape)}")
        audio = audio.to(next(self.encoder.parameters()).device, torch.float32)
        with self.precision:
            if audio.shape[1] <= self.chunk_seconds * self.sample_rate:
                return pick_layer(self.encoder(audio), self.layer).float()
            outs = [pick_layer(self.encoder.extract_long(a, self.chunk_seconds, include_ffn=False,
                                                         output_device=a.device), self.layer).float()
                    for a in audio]
        return torch.cat(outs)


def load_model(model_file_path: str = "", layer: int | str = "last", device: str = "cpu", dtype: str | None = None,
               **kw) -> HearModel:
    return HearModel(load_encoder(model_file_path, device), layer, dtype=dtype, **kw)


def get_timestamp_embeddings(audio: torch.Tensor, model: HearModel) -> tuple[torch.Tensor, torch.Tensor]:
    emb = model.frames(audio)
    rate = float(model.encoder.config.frame_rate)
    ts = (torch.arange(emb.shape[1], device=emb.device, dtype=torch.float32) + 0.5) * (1000.0 / rate)
    return emb, ts.expand(emb.shape[0], -1).contiguous()


def get_scene_embeddings(audio: torch.Tensor, model: HearModel) -> torch.Tensor:
    return model.frames(audio).mean(dim=1)
