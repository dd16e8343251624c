"""``resemblyzer``: the GE2E speaker encoder (Wan et al. 2018) as packaged by Resemblyzer
(``resemblyzer/pretrained.pt``, loaded with weights_only; the package itself is never imported).

16 kHz; volume raised (never lowered) to -30 dBFS per clip as Resemblyzer does; 40-bin mel power spectrogram (not
log; n_fft 400, hop 160, centred) at 100 Hz; 3 stacked LSTM layers of 256. Layers 1..3 = each LSTM layer's frame
states. ``utterance_embedding`` gives Resemblyzer-style unit-norm 256-d speaker embeddings.
Resemblyzer's silence trimming (webrtcvad) is not applied: it would break frame alignment with the student.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .assets import package_file
from .base import Teacher, TeacherInfo, TeacherOutput
from .batching import lengths_to_mask

N_FFT, HOP, N_MELS = 400, 160, 40
_PIP = "resemblyzer==0.1.4"


def static_info(normalize: bool = True, **_) -> TeacherInfo:
    return TeacherInfo(name="resemblyzer", domain="speech", sample_rate=16000, frame_rate=100.0, num_layers=3,
                       dims={1: 256, 2: 256, 3: 256}, feature="hidden", licence="Apache-2.0",
                       extra={"layers": {l: f"LSTM layer {l} states" for l in (1, 2, 3)},
                              "normalize_volume": normalize})


def check_available(**_) -> None:
    package_file("resemblyzer", "pretrained.pt", _PIP, no_deps=True)


@functools.lru_cache(maxsize=1)
def _mel_filters() -> torch.Tensor:
    import librosa

    return torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32))


def mel_power(wav: torch.Tensor) -> torch.Tensor:
    """wav: (S,) -> (1 + S // 160, 40) mel power frames (librosa.feature.melspectrogram's defaults)."""
    spec = torch.stft(wav.float(), N_FFT, HOP, window=torch.hann_window(N_FFT, device=wav.device), center=True,
                      pad_mode="constant", return_complex=True)
    return (_mel_filters().to(wav.device) @ spec.abs() ** 2).T


def normalize_volume(wav: torch.Tensor, target_dbfs: float = -30.0) -> torch.Tensor:
    rms = wav.float().pow(2).mean().sqrt().clamp_min(1e-10)
    change = target_dbfs - 20.0 * torch.log10(rms)
    return wav * (10.0 ** (change / 20.0)) if change > 0 else wav


class ResemblyzerTeacher(Teacher):
    def __init__(self, normalize: bool = True) -> None:
        super().__init__()
        self.info = static_info(normalize)
        self.normalize = normalize
        self.lstms = nn.ModuleList(nn.LSTM(N_MELS if i == 0 else 256, 256, batch_first=True) for i in range(3))
        self.linear = nn.Linear(256, 256)
        ckpt = torch.load(package_file("resemblyzer", "pretrained.pt", _PIP, no_deps=True), map_location="cpu",
                          weights_only=True)
        state = ckpt.get("model_state", ckpt)
        for i, lstm in enumerate(self.lstms):
            lstm.load_state_dict({k.replace(f"_l{i}", "_l0"): state[f"lstm.{k.replace('_l0', f'_l{i}')}"]
                                  for k in lstm.state_dict()})
        self.linear.load_state_dict({"weight": state["linear.weight"], "bias": state["linear.bias"]})
        self.freeze()

    def _mels(self, wav: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
        mels = []
        for b, n in enumerate(lengths.tolist()):
            x = wav[b, :n]
            mels.append(mel_power(normalize_volume(x) if self.normalize else x))
        counts = [m.shape[0] for m in mels]
        return nn.utils.rnn.pad_sequence(mels, batch_first=True), counts

    def _forward(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        x, counts = self._mels(wav, lengths)
        x = x.to(self.linear.weight.dtype)
        T = x.shape[1]
        feats = {}
        for i, lstm in enumerate(self.lstms[: max(layers)], start=1):
            packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(counts), batch_first=True,
                                                       enforce_sorted=False)
            x, _ = nn.utils.rnn.pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=T)
            if i in layers:
                feats[i] = x
        mask = lengths_to_mask(torch.tensor(counts, device=wav.device), T)
        return TeacherOutput(features=feats, mask=mask, frame_rate=100.0)

    @torch.no_grad()
    def utterance_embedding(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: (S,) 16 kHz -> (256,) unit-norm speaker embedding: mean of the GE2E embeddings of 1.6 s partials
        (160 frames, 50 % overlap), each partial run through the LSTMs from a fresh state."""
        mel, counts = self._mels(wav.reshape(1, -1), torch.tensor([wav.numel()]))
        mel = mel[0, : counts[0]]
        starts = list(range(0, max(1, mel.shape[0] - 160 + 1), 80))
        x = torch.stack([F.pad(mel[s: s + 160], (0, 0, 0, max(0, 160 - mel[s: s + 160].shape[0]))) for s in starts])
        for lstm in self.lstms:
            x, _ = lstm(x.to(self.linear.weight.dtype))
        partials = F.normalize(F.relu(self.linear(x[:, -1])), dim=-1)
        return F.normalize(partials.mean(0), dim=-1)
