"""Plug your own teacher into usad: wrap any torch module behind the Teacher contract and register it.

This runs as is (a small random conv net stands in for ATST-Frame, MuQ, BEATs or AF-Whisper, whose code is not in
transformers): `python examples/custom_teacher.py`. Replace `TinyFrameEncoder` by your model and its weights.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from usad.teachers import Teacher, TeacherInfo, TeacherOutput, load_teacher, register_teacher
from usad.teachers.align import align_frames
from usad.teachers.batching import lengths_to_mask, resample_batch


class TinyFrameEncoder(nn.Module):
    """Stand-in model: 24 kHz waveform (B, S) -> list of per-layer features (B, T, 32) at 25 Hz (hop 960)."""

    def __init__(self, dim: int = 32, layers: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv1d(1, dim, kernel_size=960, stride=960)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(dim, dim), nn.GELU()) for _ in range(layers))

    def forward(self, wav: torch.Tensor, max_layer: int) -> list[torch.Tensor]:
        h = self.stem(wav[:, None]).transpose(1, 2)
        outs = []
        for block in self.blocks[:max_layer]:  # run no deeper than needed
            h = h + block(h)
            outs.append(h)
        return outs


class MyMusicTeacher(Teacher):
    """The contract: declare TeacherInfo; implement _forward(wav16k (B,S), lengths (B,), layers) -> TeacherOutput."""

    def __init__(self, checkpoint: str | None = None) -> None:
        super().__init__()
        self.model = TinyFrameEncoder()
        if checkpoint:  # weights from safetensors, never from unpickling
            from safetensors.torch import load_file

            self.model.load_state_dict(load_file(checkpoint))
        self.info = TeacherInfo(name="my-music", domain="music", sample_rate=24000, frame_rate=25.0, num_layers=4,
                                dims={l: 32 for l in range(1, 5)}, licence="your model's licence")
        self.freeze()  # eval mode, no gradients

    def _forward(self, wav, lengths, layers):
        wav24, len24 = resample_batch(wav, lengths, 16000, 24000)  # the project's one resampler (soxr)
        outs = self.model(wav24, max_layer=max(layers))
        frames = torch.tensor([math.floor(int(n) / 960) for n in len24])
        mask = lengths_to_mask(frames, outs[0].shape[1])
        return TeacherOutput({l: outs[l - 1] * mask[..., None] for l in layers}, mask, self.info.frame_rate)


if __name__ == "__main__":
    register_teacher("my-music", MyMusicTeacher)
    teacher = load_teacher("my-music")  # or load_teacher("my-music", checkpoint="weights.safetensors")
    wav = torch.randn(2, 32000) * 0.1
    out = teacher(wav, torch.tensor([32000, 16000]), layers=[2, 4])
    print({l: tuple(f.shape) for l, f in out.features.items()}, "valid frames:", out.mask.sum(1).tolist())
    # the distillation side aligns any teacher to the student's 50 Hz frames with one function
    y, m = align_frames(out.features[4], out.mask, teacher.frame_rate, 50.0, dst_len=100)
    print("aligned to 50 Hz:", tuple(y.shape), "valid:", m.sum(1).tolist())
