import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).parent))
from distill_fixtures import write_corpus  # noqa: E402

from usad.distill.data import make_loader, manifest_cuts, read_shar, training_cuts, write_shar  # noqa: E402


def _take(loader, n):
    it = iter(loader)
    return [next(it) for _ in range(n)]


def test_crops_bucketing_and_upsampling(tmp_path):
    manifest = write_corpus(tmp_path / "c", n=9, durations=(0.6, 1.0, 2.5), offset=0.2)
    cuts = training_cuts(manifest_cuts([manifest]), crop_seconds=1.0, min_seconds=0.5,
                         upsample={"sound": 2.0, "music": 2.0})
    listed = list(cuts)
    counts = Counter(c.custom["domain"] for c in listed)
    assert counts == {"speech": 3, "sound": 6, "music": 6}          # sound and music up-sampled x2
    assert all(c.duration <= 1.0 for c in listed)
    batches = _take(make_loader(cuts, max_duration=2.5, num_buckets=2, seed=0, num_workers=0), 12)
    for b in batches:
        assert b.seconds <= 2.5 + 1e-6                               # duration-bucketed batches
        assert b.wav.shape == (len(b.ids), int(b.lengths.max()))
        for row, n in zip(b.wav, b.lengths):
            assert float(row[n:].abs().sum()) == 0.0                 # zero padding after each clip
        assert all(0.0 <= o <= 1.5 + 1e-6 for o in b.offsets.tolist())   # crop start inside its clip
    # up-sampled copies keep their clip's id (cached teachers look targets up by clip id)
    assert {i for b in batches for i in b.ids} <= {f"clip{i}" for i in range(9)}


def test_crop_reads_the_right_samples(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    x = np.arange(16000 * 3, dtype=np.float32) / (16000 * 3)    # a ramp: value tells the position
    sf.write(folder / "ramp.wav", x, 16000, subtype="FLOAT")
    (folder / "m.jsonl").write_text('{"id": "r", "path": "ramp.wav", "duration": 2.0, "offset": 0.5, '
                                    '"domain": "music"}\n')
    cuts = training_cuts(manifest_cuts([folder / "m.jsonl"]), crop_seconds=1.0, upsample={})
    b = _take(make_loader(cuts, max_duration=2.0, num_buckets=1, seed=3, num_workers=0), 1)[0]
    start = 0.5 + float(b.offsets[0])
    expected = x[int(round(start * 16000)): int(round(start * 16000)) + 16000]
    assert b.lengths.tolist() == [16000]
    assert np.allclose(b.wav[0].numpy(), expected, atol=1e-6)


def test_resume_position_replays_the_same_batches(tmp_path):
    manifest = write_corpus(tmp_path / "c", n=9)
    cuts = training_cuts(manifest_cuts([manifest]), 1.0, upsample={"music": 1.5})
    full = _take(make_loader(cuts, max_duration=3.0, num_buckets=2, seed=5, num_workers=0), 10)
    k = 6
    epoch, skip = full[k - 1].epoch, full[k - 1].index + 1
    resumed = _take(make_loader(cuts, max_duration=3.0, num_buckets=2, seed=5, num_workers=2, epoch=epoch,
                                skip=skip), 4)
    for a, b in zip(full[k:], resumed):
        assert a.ids == b.ids and (a.epoch, a.index) == (b.epoch, b.index)
        assert a.wav.equal(b.wav)


def test_shar_round_trip_streams_the_same_batches(tmp_path):
    manifest = write_corpus(tmp_path / "c", n=6)
    source = manifest_cuts([manifest])
    write_shar(source, str(tmp_path / "shar"), shard_size=4)
    assert len(list((tmp_path / "shar").glob("recording.*.tar"))) == 2
    a = training_cuts(source, 1.0, upsample={})
    b = training_cuts(read_shar([str(tmp_path / "shar")]), 1.0, upsample={})
    ba = _take(make_loader(a, max_duration=3.0, num_buckets=2, seed=0, num_workers=0), 4)
    bb = _take(make_loader(b, max_duration=3.0, num_buckets=2, seed=0, num_workers=0), 4)
    for x, y in zip(ba, bb):
        assert x.ids == y.ids and x.domains == y.domains
        assert np.allclose(x.wav.numpy(), y.wav.numpy(), atol=1e-4)   # FLAC 16-bit in the shards


def test_manifest_errors_are_actionable(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "duration": 1.0}\n')
    with pytest.raises(ValueError, match="missing field 'path'"):
        manifest_cuts([tmp_path / "bad.jsonl"])
    sf.write(tmp_path / "a.wav", np.zeros(8000, np.float32), 8000)
    (tmp_path / "rate.jsonl").write_text('{"id": "a", "path": "a.wav", "duration": 1.0}\n')
    with pytest.raises(ValueError, match="8000 Hz.*usad corpus"):
        manifest_cuts([tmp_path / "rate.jsonl"])
