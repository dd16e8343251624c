"""The Kaldi fbank front end against an independent Kaldi implementation, and its batching invariants."""
import math

import numpy as np
import pytest
import torch

from usad.audio import load_audio
from usad.frontend import FBANK_MEAN, FBANK_STD, LOG_FLOOR, KaldiFbank, kaldi_mel_banks, num_fbank_frames


def _knf_fbank(wav: np.ndarray, num_bins: int) -> np.ndarray:
    import kaldi_native_fbank as knf  # a declared test dependency (pyproject extra "test")

    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = 16000
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = "hanning"
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = num_bins
    opts.mel_opts.low_freq = 20.0
    opts.mel_opts.high_freq = 0.0
    opts.use_energy = False
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(16000, wav.tolist())
    fb.input_finished()
    return np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)])


@pytest.mark.parametrize("num_bins", [80, 120])
def test_matches_kaldi_native_fbank_on_real_speech(speech_wav_path, num_bins):
    wav = load_audio(speech_wav_path)
    ref = _knf_fbank((wav - wav.mean()).numpy(), num_bins)  # knf does not subtract the waveform mean
    ours, n = KaldiFbank(num_bins, normalize=False)(wav[None])
    assert ours.shape == (1, ref.shape[0], num_bins) and int(n[0]) == ref.shape[0]
    diff = np.abs(ours[0].numpy() - ref)
    assert diff.max() < 5e-3 and diff.mean() < 1e-4


def test_normalisation_is_usad_constants(speech_wav_path):
    wav = load_audio(speech_wav_path)[None]
    raw, _ = KaldiFbank(128, normalize=False)(wav)
    norm, _ = KaldiFbank(128)(wav)
    torch.testing.assert_close(norm, (raw + 4.268) / (2 * 4.569))


def test_128_bins_pins_empty_low_filters(speech_wav_path):
    banks = kaldi_mel_banks(128)
    assert banks.shape == (257, 128) and float(banks[-1].abs().sum()) == 0.0  # Nyquist row unused
    empty = [i for i in range(128) if float(banks[:, i].sum()) == 0.0]
    assert empty == [3]  # filter 3 (about 97-141 mel) falls between FFT bins 1 and 2 at 16 kHz / 512
    wav = load_audio(speech_wav_path)[None]
    feats, n = KaldiFbank(128)(wav)
    assert feats.shape == (1, num_fbank_frames(wav.shape[1]), 128) and torch.isfinite(feats).all()
    floor = (math.log(LOG_FLOOR) - FBANK_MEAN) / (2 * FBANK_STD)
    assert torch.allclose(feats[0][:, empty], torch.full_like(feats[0][:, empty], floor))
    noise, _ = KaldiFbank(128)(0.1 * torch.randn(1, 4000, generator=torch.Generator().manual_seed(0)))
    at_floor = (noise[0] - floor).abs().max(dim=0).values < 1e-6
    assert at_floor.nonzero().flatten().tolist() == empty  # white noise reaches every non-empty filter


def test_frame_count_formula():
    assert [num_fbank_frames(s) for s in (0, 399, 400, 559, 560, 16000)] == [0, 0, 1, 1, 2, 98]
    assert num_fbank_frames(torch.tensor([399, 400, 16000])).tolist() == [0, 1, 98]


def test_padding_never_leaks_into_valid_frames():
    gen = torch.Generator().manual_seed(0)
    a = 0.1 * torch.randn(12000, generator=gen) + 0.3  # a DC offset makes the per-clip mean matter
    b = 0.5 * torch.randn(16000, generator=gen)
    batch = torch.zeros(2, 16000)
    batch[0, :12000], batch[1] = a, b
    batch[0, 12000:] = 7.0  # garbage in the padding must not matter
    fb = KaldiFbank(128)
    feats, n = fb(batch, torch.tensor([12000, 16000]))
    alone, _ = fb(a[None])
    assert n.tolist() == [num_fbank_frames(12000), num_fbank_frames(16000)]
    torch.testing.assert_close(feats[0, : n[0]], alone[0], atol=1e-5, rtol=1e-5)
    assert float(feats[0, n[0]:].abs().max()) == 0.0


def test_silence_is_finite():
    feats, _ = KaldiFbank(128)(torch.zeros(1, 4000))
    assert torch.isfinite(feats).all()
