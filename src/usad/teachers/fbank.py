"""``fbank``: the student's own input, the 128-bin Kaldi log-mel filterbank at 100 Hz, as a distillation target.

Not an expert: a spectral anchor. A random-init student keeps the spectrum of its input (a random projection of
the fbank already separates pitch, speaker and language well), and distilling only from experts' features can
trade that away; predicting the input spectrum from a low student block keeps it. Domain ``any`` (every clip,
with the neutral weight of a multi-domain teacher). One layer: 1 = normalised log-mel (128).
"""
from __future__ import annotations

import torch

from .base import Teacher, TeacherInfo, TeacherOutput


def static_info(num_bins: int = 128, **_) -> TeacherInfo:
    return TeacherInfo(name="fbank", domain="any", sample_rate=16000, frame_rate=100.0, num_layers=1,
                       dims={1: int(num_bins)}, feature="input", licence="(no weights)",
                       extra={"layers": {1: f"log-mel fbank ({num_bins})"}})


def check_available(**_) -> None:
    return None


class FbankTeacher(Teacher):
    def __init__(self, num_bins: int = 128) -> None:
        super().__init__()
        from usad.frontend import KaldiFbank

        self.fbank = KaldiFbank(int(num_bins))
        self.info = static_info(num_bins)

    def _forward(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        from usad.frontend import FRAME_LENGTH

        if wav.shape[1] < FRAME_LENGTH:
            wav = torch.nn.functional.pad(wav, (0, FRAME_LENGTH - wav.shape[1]))
        feats, n = self.fbank(wav.float(), lengths)
        mask = torch.arange(feats.shape[1], device=feats.device)[None, :] < n[:, None]
        return TeacherOutput(features={1: feats}, mask=mask, frame_rate=100.0)
