"""A plain PyTorch Whisper encoder (conv stem, sinusoidal positions as stored, pre-LN blocks), filled from a
CTranslate2 ``model.bin`` or exported to transformers' ``WhisperEncoder`` state-dict layout."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class WhisperEncoderConfig:
    n_mels: int = 80
    dim: int = 512
    layers: int = 6
    heads: int = 8
    n_ctx: int = 1500


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.attn_ln = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.mlp_ln = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D) -> (hidden (B, T, D), ffn branch output (B, T, D))."""
        B, T, D = x.shape
        q, k, v = self.qkv(self.attn_ln(x)).view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v)  # Whisper's encoder attends over the full padded window
        x = x + self.out(a.transpose(1, 2).reshape(B, T, D))
        ffn = self.fc2(F.gelu(self.fc1(self.mlp_ln(x))))
        return x + ffn, ffn


class WhisperEncoderTorch(nn.Module):
    """mel: (B, n_mels, 2 * n_ctx) -> per-layer hidden states and FFN outputs at 50 Hz.

    hidden[0] = conv stem + positions; hidden[l] = output of block l; the last layer has the final LayerNorm applied
    (as Whisper's decoder and transformers' ``hidden_states[-1]`` see it)."""

    def __init__(self, cfg: WhisperEncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.conv1 = nn.Conv1d(cfg.n_mels, cfg.dim, 3, padding=1)
        self.conv2 = nn.Conv1d(cfg.dim, cfg.dim, 3, stride=2, padding=1)
        self.register_buffer("positions", torch.zeros(cfg.n_ctx, cfg.dim))
        self.blocks = nn.ModuleList(_Block(cfg.dim, cfg.heads) for _ in range(cfg.layers))
        self.ln_post = nn.LayerNorm(cfg.dim)

    def forward(self, mel: torch.Tensor, max_layer: int | None = None
                ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        dtype = self.conv1.weight.dtype
        x = F.gelu(self.conv1(mel.to(dtype)))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.positions[: x.shape[1]].to(dtype)
        hidden, ffns = [x], []
        n = self.cfg.layers if max_layer is None else max_layer
        for i, block in enumerate(self.blocks[:n], start=1):
            x, ffn = block(x)
            if i == self.cfg.layers:
                x = self.ln_post(x)
            hidden.append(x)
            ffns.append(ffn)
        return hidden, ffns

    # ---- weight conversion -------------------------------------------------------------------------------
    @classmethod
    def from_ct2(cls, tensors: dict[str, torch.Tensor]) -> "WhisperEncoderTorch":
        """tensors: CT2 variables named ``encoder/...`` (see ct2_reader.read_ct2)."""
        layers = 1 + max(int(k.split("/")[1].split("_")[1]) for k in tensors if k.startswith("encoder/layer_") and k.split("/")[1][6:].isdigit())
        n_ctx, dim = tensors["encoder/position_encodings/encodings"].shape
        heads = int(tensors["encoder/num_heads"]) if "encoder/num_heads" in tensors else dim // 64
        n_mels = tensors["encoder/conv1/weight"].shape[1]
        model = cls(WhisperEncoderConfig(n_mels=n_mels, dim=dim, layers=layers, heads=heads, n_ctx=n_ctx))
        sd = {"conv1.weight": "encoder/conv1/weight", "conv1.bias": "encoder/conv1/bias",
              "conv2.weight": "encoder/conv2/weight", "conv2.bias": "encoder/conv2/bias",
              "positions": "encoder/position_encodings/encodings",
              "ln_post.weight": "encoder/layer_norm/gamma", "ln_post.bias": "encoder/layer_norm/beta"}
        for i in range(layers):
            p = f"encoder/layer_{i}"
            sd.update({f"blocks.{i}.attn_ln.weight": f"{p}/self_attention/layer_norm/gamma",
                       f"blocks.{i}.attn_ln.bias": f"{p}/self_attention/layer_norm/beta",
                       f"blocks.{i}.qkv.weight": f"{p}/self_attention/linear_0/weight",
                       f"blocks.{i}.qkv.bias": f"{p}/self_attention/linear_0/bias",
                       f"blocks.{i}.out.weight": f"{p}/self_attention/linear_1/weight",
                       f"blocks.{i}.out.bias": f"{p}/self_attention/linear_1/bias",
                       f"blocks.{i}.mlp_ln.weight": f"{p}/ffn/layer_norm/gamma",
                       f"blocks.{i}.mlp_ln.bias": f"{p}/ffn/layer_norm/beta",
                       f"blocks.{i}.fc1.weight": f"{p}/ffn/linear_0/weight",
                       f"blocks.{i}.fc1.bias": f"{p}/ffn/linear_0/bias",
                       f"blocks.{i}.fc2.weight": f"{p}/ffn/linear_1/weight",
                       f"blocks.{i}.fc2.bias": f"{p}/ffn/linear_1/bias"})
        missing = [v for v in sd.values() if v not in tensors]
        if missing:
            raise ValueError(f"CTranslate2 Whisper file lacks encoder variables {missing[:4]}...; is it a Whisper model?")
        model.load_state_dict({k: tensors[v].float() for k, v in sd.items()}, strict=True)
        return model

    def to_hf_state_dict(self) -> dict[str, torch.Tensor]:
        """State dict in transformers' ``WhisperEncoder`` layout (prefix ``encoder.`` for ``WhisperModel``)."""
        sd = {"conv1.weight": self.conv1.weight, "conv1.bias": self.conv1.bias,
              "conv2.weight": self.conv2.weight, "conv2.bias": self.conv2.bias,
              "embed_positions.weight": self.positions,
              "layer_norm.weight": self.ln_post.weight, "layer_norm.bias": self.ln_post.bias}
        d = self.cfg.dim
        for i, b in enumerate(self.blocks):
            p = f"layers.{i}"
            w, bias = b.qkv.weight, b.qkv.bias
            sd.update({f"{p}.self_attn.q_proj.weight": w[:d], f"{p}.self_attn.q_proj.bias": bias[:d],
                       f"{p}.self_attn.k_proj.weight": w[d:2 * d],
                       f"{p}.self_attn.v_proj.weight": w[2 * d:], f"{p}.self_attn.v_proj.bias": bias[2 * d:],
                       f"{p}.self_attn.out_proj.weight": b.out.weight, f"{p}.self_attn.out_proj.bias": b.out.bias,
                       f"{p}.self_attn_layer_norm.weight": b.attn_ln.weight,
                       f"{p}.self_attn_layer_norm.bias": b.attn_ln.bias,
                       f"{p}.fc1.weight": b.fc1.weight, f"{p}.fc1.bias": b.fc1.bias,
                       f"{p}.fc2.weight": b.fc2.weight, f"{p}.fc2.bias": b.fc2.bias,
                       f"{p}.final_layer_norm.weight": b.mlp_ln.weight, f"{p}.final_layer_norm.bias": b.mlp_ln.bias})
        return {k: v.detach().clone().contiguous() for k, v in sd.items()}
