"""s3prl-style upstream for a usad student:
``forward(wavs: list[(S,)] or (B, S), wavs_len: (B,) | None) -> (hidden_states: list of (B, T, D), lengths: list
of (B,))`` with every layer 0..L (0 = input to block 1), like ``s3prl.nn.S3PRLUpstream``. ``dtype`` None reads
``USAD_DTYPE``, then "auto" (bfloat16 autocast on a CPU with native bf16; "float32" forces full precision); the
hidden states are float32 either way."""
from __future__ import annotations

import torch
from torch import nn

from usad.adapters.loading import Precision, load_encoder
from usad.audio import pad_batch


class USADUpstream(nn.Module):
    sample_rate = 16000

    def __init__(self, model: str | nn.Module = "", device: str = "cpu", dtype: str | None = None) -> None:
        super().__init__()
        self.encoder = load_encoder(model, device)
        self.precision = Precision(dtype, next(self.encoder.parameters()).device)
        cfg = self.encoder.config
        self.num_layers = int(cfg.num_layers) + 1
        self.hidden_sizes = [int(cfg.dim)] * self.num_layers
        self.downsample_rate = int(round(self.sample_rate / float(cfg.frame_rate)))
        self.downsample_rates = [self.downsample_rate] * self.num_layers

    @torch.no_grad()
    def forward(self, wavs: list[torch.Tensor] | torch.Tensor, wavs_len: torch.Tensor | None = None
                ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        device = next(self.encoder.parameters()).device
        if isinstance(wavs, (list, tuple)):
            batch, lens = pad_batch([w.to(device).float() for w in wavs])
            lens = lens.to(device)
        else:
            batch = wavs.to(device).float()
            lens = wavs_len.to(device) if wavs_len is not None else torch.full(
                (batch.shape[0],), batch.shape[1], device=device)
        with self.precision:
            out = self.encoder(batch, lens)
        n = out.mask.sum(-1)
        hs = [h.float() * out.mask.unsqueeze(-1) for h in out.hidden_states]
        return hs, [n] * len(hs)
