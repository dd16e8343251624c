"""Warm-starting a student from a teacher's weights where the shapes allow (``student.warm_start``).

DistilHuBERT initialises its student from its teacher; here the Transformer blocks of a teacher whose blocks have
the student's layout (pre-LN, fused qkv with bias, 4x GELU FFN) are copied into the student's first blocks. A
student with the Whisper front end (``frontend: whisper``, ``n_mels: 80``, ``conv_pos_depth: 0``) gets the conv
stem too, so before training it computes what the teacher computes (up to the clip edges and Whisper's final
LayerNorm); a student with the Kaldi fbank front end keeps its own random front end, which training must adapt
to feed the copied blocks (Whisper's blocks depend strongly on its positions, so this is a much weaker start).
Known sources:

- ``whisper-base``: 6 blocks of width 512, 8 heads (the student needs dim 512 and num_heads 8; with fewer than
  6 layers it gets the first ones, with more the rest stay random).

A source is registered in ``WARM_STARTS`` with a function returning the student-state-dict entries it fills.
"""
from __future__ import annotations

from typing import Callable

import torch

from usad.model import Encoder
from usad.errors import ConfigError


def _whisper_base(student: Encoder) -> dict[str, torch.Tensor]:
    from usad.teachers.whisper.teacher import load_whisper_base_encoder

    cfg = student.config
    src = load_whisper_base_encoder()
    if cfg.dim != src.cfg.dim or cfg.num_heads != src.cfg.heads or cfg.attention != "sdpa":
        raise ConfigError(f"student.warm_start=whisper-base needs a student of dim {src.cfg.dim}, num_heads "
                          f"{src.cfg.heads} and attention sdpa (its blocks are copied as they are); this student "
                          f"has dim {cfg.dim}, num_heads {cfg.num_heads}, attention {cfg.attention}")
    out = {}
    if cfg.frontend == "whisper":
        if cfg.n_mels != src.cfg.n_mels or cfg.conv_pos_depth != 0:
            raise ConfigError(f"student.warm_start=whisper-base with frontend whisper needs n_mels {src.cfg.n_mels} "
                              f"and conv_pos_depth 0 (Whisper has fixed positions, no conv positional encoder); "
                              f"this student has n_mels {cfg.n_mels}, conv_pos_depth {cfg.conv_pos_depth}")
        for name in ("conv1", "conv2"):
            for p in ("weight", "bias"):
                out[f"subsampler.{name}.{p}"] = getattr(getattr(src, name), p).detach().float().clone()
    for i in range(min(cfg.num_layers, src.cfg.layers)):
        b = src.blocks[i]
        for ours, theirs in (("norm1", b.attn_ln), ("attn.qkv", b.qkv), ("attn.out", b.out), ("norm2", b.mlp_ln),
                             ("ffn.0", b.fc1), ("ffn.3", b.fc2)):
            out[f"blocks.{i}.{ours}.weight"] = theirs.weight.detach().float().clone()
            out[f"blocks.{i}.{ours}.bias"] = theirs.bias.detach().float().clone()
    return out


WARM_STARTS: dict[str, Callable[[Encoder], dict[str, torch.Tensor]]] = {"whisper-base": _whisper_base}


def warm_start(student: Encoder, source: str) -> list[str]:
    """Copy ``source``'s weights into ``student`` in place; returns the parameter names it set."""
    if source not in WARM_STARTS:
        raise ConfigError(f"student.warm_start={source!r}: known sources are {sorted(WARM_STARTS)}")
    state = WARM_STARTS[source](student)
    own = student.state_dict()
    bad = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
    if bad:
        raise ConfigError(f"student.warm_start={source!r}: the student has no parameter of that shape for {bad[:3]}")
    student.load_state_dict(state, strict=False)
    return sorted(state)
