"""Feature cache: build, resume, stale-config protection, and frame-accurate crops through CachedTeacher."""
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from usad.teachers import load_teacher
from usad.teachers.cache import CachedTeacher, build_cache, cache_key, frame_slice


@pytest.fixture
def manifest(tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for i, secs in enumerate([1.0, 0.5, 0.74, 1.2, 0.3]):
        path = tmp_path / f"clip{i}.wav"
        sf.write(path, (0.1 * rng.standard_normal(int(secs * 16000))).astype(np.float32), 16000)
        lines.append({"id": f"c{i}", "path": path.name, "duration": secs, "domain": "speech"})
    m = tmp_path / "manifest.jsonl"
    m.write_text("\n".join(json.dumps(l) for l in lines))
    return m


def test_cache_matches_live_teacher_and_serves_crops(manifest, tmp_path):
    teacher = load_teacher("test:8x3@50")
    folder = build_cache(teacher, manifest, tmp_path / "cache", layers=[1, 3], shard_size=2, batch_size=2,
                         progress=False)
    assert sorted(p.name for p in folder.glob("shard-*.safetensors")) == [f"shard-0000{i}.safetensors" for i in range(3)]
    cached = CachedTeacher(tmp_path / "cache", teacher.info)
    assert cached.info.dims == {1: 8, 3: 8} and cached.frame_rate == 50.0
    # whole clips: same frames as the live teacher (to fp16 precision)
    from usad.audio import load_audio

    wavs = [load_audio(str(manifest.parent / f"clip{i}.wav")) for i in (0, 2)]
    wav = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)
    lengths = torch.tensor([len(w) for w in wavs])
    live = teacher(wav, lengths, layers=[3])
    got = cached(wav, lengths, layers=[3], ids=["c0", "c2"])
    assert torch.equal(got.mask, live.mask)
    assert torch.allclose(got.features[3], live.features[3], atol=2e-3)
    # a crop at 0.2 s of 0.4 s: exactly frames 10..29 of clip c3
    crop = cached(torch.zeros(1, 6400), torch.tensor([6400]), layers=[1], ids=["c3"], offsets=torch.tensor([0.2]))
    full = cached(torch.zeros(1, 19200), torch.tensor([19200]), layers=[1], ids=["c3"])
    assert crop.features[1].shape == (1, 20, 8) and crop.mask.all()
    assert torch.equal(crop.features[1][0], full.features[1][0, 10:30])
    # a crop running past the clip's end is masked there, not filled with other data
    tail = cached(torch.zeros(1, 8000), torch.tensor([8000]), layers=[1], ids=["c4"], offsets=torch.tensor([0.1]))
    assert int(tail.mask.sum()) == 10
    with pytest.raises(ValueError, match="ids="):
        cached(torch.zeros(1, 800), layers=[1])
    with pytest.raises(KeyError, match="nope"):
        cached(torch.zeros(1, 800), layers=[1], ids=["nope"])


def test_resume_skips_finished_shards_and_stale_config_is_refused(manifest, tmp_path):
    teacher = load_teacher("test:8x2@25")
    folder = build_cache(teacher, manifest, tmp_path / "c", layers=[2], shard_size=2, progress=False)
    stamp = {p.name: p.stat().st_mtime_ns for p in folder.glob("shard-*.safetensors")}
    (folder / "shard-00001.safetensors").unlink()
    calls = []
    teacher.register_forward_hook(lambda *a: calls.append(1))
    build_cache(teacher, manifest, tmp_path / "c", layers=[2], shard_size=2, progress=False)
    assert len(calls) == 1  # only the missing shard was recomputed (one batch of 2 clips)
    assert (folder / "shard-00000.safetensors").stat().st_mtime_ns == stamp["shard-00000.safetensors"]
    other = load_teacher("test:8x2@50")  # changed frame rate = changed config
    assert cache_key(other.info, [2]) != folder.name
    assert not list(folder.glob(".*"))  # no temp files left behind
    with pytest.raises(FileNotFoundError, match="usad cache"):
        CachedTeacher(tmp_path / "c", other.info)
    with pytest.raises(FileNotFoundError, match="layers"):
        CachedTeacher(tmp_path / "c", teacher.info, layers=[1])  # layer 1 was not cached


def test_subset_of_cached_layers_is_served(manifest, tmp_path):
    teacher = load_teacher("test:8x4@50")
    build_cache(teacher, manifest, tmp_path / "c", layers=[1, 2, 3, 4], progress=False)
    cached = CachedTeacher(tmp_path / "c", teacher.info, layers=[2, 4])
    assert cached.info.dims == {2: 8, 4: 8} and cached.default_layers() == [2, 4]
    out = cached(torch.zeros(1, 16000), layers=[4], ids=["c0"])
    assert out.features[4].shape == (1, 50, 8)


def test_frame_slice():
    assert frame_slice(0.2, 6400, 50.0) == (10, 20)
    assert frame_slice(0.0, 16000, 86.1328125) == (0, 87)
