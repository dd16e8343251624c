"""Shar at scale: every rank and DataLoader worker reads only its own shards, each cut once per epoch across all
ranks, and a rank's position (one per reader) restores the exact continuation."""
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from distill_fixtures import write_corpus  # noqa: E402

from usad.distill.data import manifest_cuts, write_shar  # noqa: E402
from usad.distill.shar_stream import reader_shards, shar_loader, shar_shards  # noqa: E402
from usad.distill.train_stream import TrainStream, start_position  # noqa: E402
from usad.errors import ConfigError  # noqa: E402

N_CLIPS = 16


@pytest.fixture(scope="module")
def shar_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shar")
    manifest = write_corpus(tmp / "corpus", n=N_CLIPS)
    write_shar(manifest_cuts([manifest]), str(tmp / "shar"), shard_size=2)     # 8 shards of 2 clips
    return str(tmp / "shar")


def _stream(shar_dir, rank, world, workers, position=None):
    position = position or {"streams": [[0, 0] for _ in range(max(1, workers))], "next": 0}
    loader = shar_loader([shar_dir], rank=rank, world_size=world, num_workers=workers,
                         positions=position["streams"], first=position["next"], seed=3, max_duration=2.5,
                         num_buckets=2, shuffle_buffer=100, crop_seconds=1.0, min_seconds=0.5, upsample={},
                         crop_grid=0.04)
    return TrainStream(loader, position, shar=True)


def test_each_cut_is_read_once_per_epoch_across_ranks_and_workers(shar_dir):
    world, workers = 2, 2
    shards = shar_shards([shar_dir])
    assert len(shards) == 8
    for epoch in (0, 1):   # the readers' shards partition the corpus, differently each epoch
        parts = [reader_shards(shards, 3, epoch, r, world * workers) for r in range(world * workers)]
        flat = [s["cuts"] for p in parts for s in p]
        assert sorted(flat) == sorted(s["cuts"] for s in shards) and all(len(p) == 2 for p in parts)
    seen = {}
    for rank in range(world):
        stream, ids = _stream(shar_dir, rank, world, workers), Counter()
        started_next = set()
        for _ in range(60):                        # until each of this rank's readers has begun epoch 1
            batch = next(stream)
            if batch.epoch == 0:
                ids.update(batch.ids)
            else:
                started_next.add(batch.stream)
            if started_next == set(range(workers)):
                break
        assert started_next == set(range(workers)), "the readers never finished epoch 0"
        assert max(ids.values()) == 1, f"rank {rank} read a cut twice in one epoch: {ids}"
        seen[rank] = set(ids)
    assert not seen[0] & seen[1], "two ranks read the same cut in one epoch"
    assert seen[0] | seen[1] == {f"clip{i}" for i in range(N_CLIPS)}, "some cut was not read in epoch 0"
    assert 0 < len(seen[0]) < N_CLIPS and 0 < len(seen[1]) < N_CLIPS   # neither rank reads everything


def test_a_saved_position_continues_exactly_across_epochs(shar_dir):
    stream = _stream(shar_dir, rank=1, world=2, workers=2)
    for _ in range(5):
        next(stream)
    position = stream.position
    rest = [next(stream) for _ in range(8)]
    assert {b.epoch for b in rest} >= {1}, "make the run cross an epoch boundary"
    resumed = _stream(shar_dir, rank=1, world=2, workers=2, position=position)
    again = [next(resumed) for _ in range(8)]
    for a, b in zip(rest, again):
        assert (a.epoch, a.index, a.stream, a.ids) == (b.epoch, b.index, b.stream, b.ids)
        assert a.wav.equal(b.wav) and a.offsets.equal(b.offsets)


def test_too_few_shards_for_the_readers_is_refused(shar_dir):
    with pytest.raises(ConfigError, match=r"8 shard\(s\) for 2 rank\(s\) x 5 DataLoader worker\(s\)"):
        _stream(shar_dir, rank=0, world=2, workers=5)


def test_resume_on_another_world_size_restarts_at_a_documented_point():
    # manifests: 2 ranks that each read 3 batches of epoch 4 = 6 global batches -> 1 rank continues at 6
    assert start_position([[4, 3], [4, 3]], 1, 0, shar=False, workers=1)[0] == [4, 6]
    assert start_position([[4, 3], [4, 3]], 2, 1, shar=False, workers=1) == ([4, 3], None)   # same world: exact
    # 1 rank that read 4 batches -> 2 ranks continue at 2 each; 3 batches do not split over 2: next epoch
    assert start_position([[0, 4]], 2, 1, shar=False, workers=1)[0] == [0, 2]
    position, note = start_position([[0, 3]], 2, 0, shar=False, workers=1)
    assert position == [1, 0] and "starts epoch 1" in note
    # Shar: another number of readers splits the shards differently -> the epoch after the newest one
    saved = [{"streams": [[2, 5], [3, 1]], "next": 1}]
    position, note = start_position(saved, 2, 0, shar=True, workers=2)
    assert position == {"streams": [[4, 0], [4, 0]], "next": 0} and "starts epoch 4" in note
    assert start_position(saved, 1, 0, shar=True, workers=2)[0] == saved[0]


def test_training_on_shar_resumes_bit_identically(shar_dir, tmp_path):
    import shutil

    import torch
    from safetensors.torch import load_file

    from distill_fixtures import tiny_config
    from usad.distill.checkpointing import load_training_checkpoint
    from usad.distill.config import load_config
    from usad.distill.trainer import train

    def config(out):
        cfg = tiny_config(Path("unused.jsonl"), tmp_path / out, max_steps=5, ckpt_every=2, keep_checkpoints=5)
        cfg["data"].update(train=[], shar=[shar_dir], num_workers=2)
        return cfg

    train(load_config(config("full")))
    saved = load_training_checkpoint(tmp_path / "full" / "checkpoints" / "step_000000002.pt")
    assert saved["positions"][0]["next"] in (0, 1) and len(saved["positions"][0]["streams"]) == 2
    (tmp_path / "resumed" / "checkpoints").mkdir(parents=True)
    shutil.copy(tmp_path / "full" / "config.yaml", tmp_path / "resumed")
    shutil.copy(tmp_path / "full" / "checkpoints" / "step_000000002.pt", tmp_path / "resumed" / "checkpoints")
    train(load_config(config("resumed")))
    a = load_file(tmp_path / "full" / "student" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "student" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
