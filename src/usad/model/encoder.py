"""The student encoder: fbank -> conv subsampler -> conv positional encoder -> Transformer blocks.

It knows nothing about teachers or training. ``encoder(wav, lengths, target_layer)`` returns every layer's hidden
state and FFN output with a frame mask and frame rate (see :class:`usad.model.output.EncoderOutput`).
"""
from __future__ import annotations

import os

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from usad.audio import MIN_SAMPLES, AudioError
from usad.checkpoint import (WEIGHTS_NAME, CheckpointError, check_weights, load_weights, read_config,
                             read_weight_shapes, save_checkpoint)
from usad.frontend import KaldiFbank
from usad.model.attention import RelPosSelfAttention, relative_sinusoids
from usad.model.chunking import extract_long
from usad.model.config import EncoderConfig, num_frames, preset_config
from usad.model.layers import ConvPositionalEncoder, ConvSubsampler, TransformerBlock, time_mask
from usad.model.output import EncoderOutput
from usad.model.whisper_stem import SpectralBranch, WhisperLogMel, WhisperStem


@torch.no_grad()
def _trunc_normal(tensor: torch.Tensor, std: float) -> None:
    """Normal(0, std) truncated at +-2 std: outliers are redrawn twice, then clipped (the few left, ~0.2%).

    Much faster than ``nn.init.trunc_normal_`` (erfinv) on CPU.
    """
    tensor.normal_(0.0, std)
    if tensor.is_meta:
        return
    for _ in range(2):
        tensor.copy_(torch.where(tensor.abs() > 2 * std, torch.randn_like(tensor) * std, tensor))
    tensor.clamp_(-2 * std, 2 * std)


class Encoder(nn.Module):
    """USAD student. ``forward(wav: (B, S) float 16 kHz in [-1, 1], lengths: (B,) | None, target_layer)``."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.spectral = None
        if c.frontend == "whisper":
            self.frontend = WhisperLogMel(c.n_mels)
            self.subsampler = WhisperStem(c.n_mels, c.dim)
            if c.spectral_branch:
                self.spectral = SpectralBranch(c.dim, 128, c.conv_channels, c.layer_norm_eps, c.spectral_gate_init)
        else:
            self.frontend = KaldiFbank(c.n_mels)
            self.subsampler = ConvSubsampler(c.n_mels, c.conv_channels, c.dim, c.time_stride, c.layer_norm_eps)
        self.pos_conv = ConvPositionalEncoder(c.dim, c.conv_pos_depth, c.conv_pos_kernel, c.conv_pos_groups,
                                              c.layer_norm_eps)
        self.dropout = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(c.dim, c.num_heads, c.ffn_mult, c.dropout, c.attention_dropout, c.attention,
                             c.layer_norm_eps) for _ in range(c.num_layers))
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.init_std
        if isinstance(module, nn.Linear):
            _trunc_normal(module.weight, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, RelPosSelfAttention):
            _trunc_normal(module.pos_bias_u, std)
            _trunc_normal(module.pos_bias_v, std)

    # ------------------------------------------------------------------ properties
    @property
    def frame_rate(self) -> float:
        return self.config.frame_rate

    @property
    def min_samples(self) -> int:
        """Shortest input (16 kHz samples) that yields one frame."""
        return MIN_SAMPLES

    def num_frames(self, num_samples: int) -> int:
        """Frames for ``num_samples`` at 16 kHz; see :func:`usad.model.config.num_frames`."""
        return num_frames(num_samples, self.config.frame_rate, self.config.frontend)

    # ------------------------------------------------------------------ inference
    def _check_inputs(self, wav: torch.Tensor, lengths) -> tuple[torch.Tensor, torch.Tensor]:
        if wav.dim() == 1:
            wav = wav[None]
        if wav.dim() != 2:
            raise ValueError(f"Encoder expects wav of shape (B, S) or (S,); got {tuple(wav.shape)}")
        if not wav.is_floating_point():
            raise TypeError(f"Encoder expects float waveforms in [-1, 1]; got {wav.dtype}. Use usad.load_audio.")
        batch, total = wav.shape
        if lengths is None:
            lengths = torch.full((batch,), total, dtype=torch.long, device=wav.device)
        else:
            lengths = torch.as_tensor(lengths, device=wav.device).long()
            if lengths.shape != (batch,):
                raise ValueError(f"lengths must have shape ({batch},); got {tuple(lengths.shape)}")
        lmin, lmax = int(lengths.min()), int(lengths.max())
        if lmax > total:
            raise ValueError(f"lengths up to {lmax} exceed the padded size {total}")
        if lmin < MIN_SAMPLES:
            idx = int(torch.argmin(lengths))
            raise AudioError(f"batch item {idx}: {lmin} samples is shorter than one frame; the encoder needs "
                             f">= {MIN_SAMPLES} samples (25 ms at 16 kHz). Pad or drop the clip.")
        if not bool(torch.isfinite(wav).all()):
            raise AudioError("input waveform contains NaN/Inf; clean it (usad.load_audio validates files)")
        return wav, lengths

    def _check_target(self, target_layer: int | None) -> int:
        n = self.config.num_layers
        if target_layer is None:
            return n
        if not 0 <= int(target_layer) <= n:
            raise ValueError(f"target_layer must be in 0..{n} (block index, 1-based); got {target_layer}")
        return int(target_layer)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None,
                target_layer: int | None = None) -> EncoderOutput:
        """``wav: (B, S)``, ``lengths: (B,)`` valid samples -> EncoderOutput (frames ``(B, T, D)``)."""
        wav, lengths = self._check_inputs(wav, lengths)
        depth = self._check_target(target_layer)
        feats, fbank_lengths = self.frontend(wav, lengths)
        feats = feats.to(self.subsampler.conv1.weight.dtype)
        x, frame_lengths = self.subsampler(feats, fbank_lengths)
        if self.spectral is not None:
            x = x + self.spectral(wav, lengths, x.shape[1])
        mask = time_mask(frame_lengths, x.shape[1])
        key_mask = None if bool(mask.all()) else mask
        if key_mask is not None:
            x = x * key_mask[..., None].to(x.dtype)
        x = self.dropout(self.pos_conv(x, key_mask))
        pos = None
        if self.config.attention == "relpos":
            pos = relative_sinusoids(x.shape[1], self.config.dim, device=x.device, dtype=x.dtype)
        hidden, ffn = [x], []
        use_ckpt = self.config.gradient_checkpointing and self.training and torch.is_grad_enabled()
        for block in self.blocks[:depth]:
            if use_ckpt:
                x, f = checkpoint(block, x, key_mask, pos, use_reentrant=False)
            else:
                x, f = block(x, key_mask, pos)
            hidden.append(x)
            ffn.append(f)
        return EncoderOutput(hidden_states=hidden, ffn=ffn, mask=mask, frame_rate=self.config.frame_rate)

    def extract_long(self, wav: torch.Tensor, chunk_seconds: float = 30.0, context_seconds: float = 5.0,
                     target_layer: int | None = None, include_ffn: bool = True,
                     output_device: str | torch.device | None = "cpu") -> EncoderOutput:
        """One long clip ``(S,)`` in chunks with context; see :func:`usad.model.chunking.extract_long`."""
        n = wav.shape[-1]
        if n < MIN_SAMPLES:
            raise AudioError(f"{n} samples is shorter than one frame ({MIN_SAMPLES} samples at 16 kHz)")
        return extract_long(self, wav, chunk_seconds, context_seconds, target_layer, include_ffn, output_device)

    # ------------------------------------------------------------------ construction / files
    @classmethod
    def from_preset(cls, name: str, **overrides) -> "Encoder":
        """Randomly initialised encoder of preset ``name`` (small|base|large|xlarge|xxlarge), fields overridden."""
        return cls(preset_config(name, **overrides))

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, map_location: str | torch.device | None = None,
                        device: str | torch.device | None = None, dtype: torch.dtype | None = None,
                        revision: str | None = None) -> "Encoder":
        """Load ``config.json`` + ``model.safetensors`` written by :meth:`save_pretrained`.

        ``directory``: a local folder, or a Hugging Face Hub id ``org/name`` (see :mod:`usad.hub`; ``revision``
        picks a branch, tag or commit). The weights' names and shapes are checked against the config from the
        file header before the model is built or any tensor is read.
        """
        from usad.hub import resolve

        target = torch.device(device or map_location or "cpu")
        folder = resolve(directory, revision)
        try:
            config = EncoderConfig.from_dict(read_config(folder))
        except (ValueError, TypeError) as exc:
            if isinstance(exc, CheckpointError):
                raise
            raise CheckpointError(f"{directory}: config.json does not describe a valid encoder ({exc}); fix the "
                                  f"field or re-save the checkpoint") from exc
        shapes = read_weight_shapes(folder)
        blocks = {k.split(".")[1] for k in shapes if k.startswith("blocks.")}
        if len(blocks) != config.num_layers:  # before building: a hostile num_layers must not allocate anything
            raise CheckpointError(f"{directory}: config.json says num_layers={config.num_layers} but "
                                  f"{WEIGHTS_NAME} holds {len(blocks)} blocks; the config and weights come from "
                                  f"different models. Re-save the checkpoint.")
        with torch.device("meta"):  # skip random init: every parameter comes from the file
            model = cls(config)
        check_weights(directory, shapes, model.state_dict())
        weights = load_weights(folder, "cpu")
        model = model.to_empty(device="cpu")
        for m in model.modules():   # non-persistent filter banks and windows, lost by to_empty()
            if hasattr(m, "reset_buffers"):
                m.reset_buffers()
        model.load_state_dict(weights, strict=True)
        if dtype is not None:
            model = model.to(dtype=dtype)
        return model.to(target).eval()

    def push_to_hub(self, repo_id: str, *, private: bool | None = None, token: str | None = None,
                    commit_message: str = "Upload usad encoder", revision: str | None = None) -> str:
        """Upload this encoder (save_pretrained layout + a short model card) to the Hub; see :mod:`usad.hub`."""
        from usad.hub import push_to_hub

        return push_to_hub(self, repo_id, private=private, token=token, commit_message=commit_message,
                           revision=revision)

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        """Write ``config.json`` + ``model.safetensors`` atomically (see :mod:`usad.checkpoint`)."""
        save_checkpoint(directory, self.state_dict(), self.config.to_dict())
