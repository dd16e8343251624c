"""A missing file reported libsndfile's "System error." (now: the file is named, "file not found"; undecodable
files keep the ffmpeg hint), and a 20-minute 48 kHz stereo FLAC peaked at 1.5 GB because it was decoded whole
(now decoded, downmixed and resampled block by block with soxr's streaming resampler)."""
import json
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
import soxr

from usad.audio import AudioError, load_audio
from usad.cli.main import main


def test_missing_file_is_named(tmp_path):
    with pytest.raises(AudioError, match=r"gone\.wav: file not found"):
        load_audio(tmp_path / "gone.wav")


def test_extract_reports_missing_listed_files_by_name(tmp_path):
    sf.write(tmp_path / "a.wav", np.zeros(8000, dtype="float32"), 16000)
    (tmp_path / "list.txt").write_text("a.wav\ngone.wav\n")
    rc = main(["extract", str(tmp_path / "list.txt"), "--preset", "small", "--out", str(tmp_path / "o"),
               "--layers", "1"])
    failed = json.loads((tmp_path / "o" / "extract_summary.json").read_text())["failed"]
    assert rc == 1 and list(failed) == [str(tmp_path / "gone.wav")]
    assert "file not found" in failed[str(tmp_path / "gone.wav")] and "System error" not in str(failed)


def test_undecodable_file_keeps_the_ffmpeg_hint(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00not audio")
    with pytest.raises(AudioError, match="bad.wav: cannot decode audio.*ffmpeg -i IN"):
        load_audio(tmp_path / "bad.wav")


def test_long_stereo_file_is_decoded_in_blocks(tmp_path):
    rate, seconds = 48000, 60
    rng = np.random.default_rng(0)
    stereo = (0.1 * rng.standard_normal((rate * seconds, 2))).astype("float32")
    sf.write(tmp_path / "long.flac", stereo, rate)
    decoded = sf.read(tmp_path / "long.flac", dtype="float32")[0]
    reference = soxr.resample(decoded.mean(axis=1, dtype=np.float64).astype("float32"), rate, 16000, "HQ")
    del stereo, decoded
    tracemalloc.start()
    wav = load_audio(tmp_path / "long.flac")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out_bytes = wav.numel() * 4                               # 3.84 MB of 16 kHz mono
    whole_file = rate * seconds * 2 * 4                       # 23 MB decoded at once
    assert peak < out_bytes + 4e6 and peak < whole_file / 2
    np.testing.assert_allclose(wav.numpy(), reference, atol=1e-6)   # same samples as decoding it whole
