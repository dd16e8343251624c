"""Training batches from lhotse Shar shards, split by rank and DataLoader worker: no process reads every shard.

Each epoch the shards are shuffled with ``random.Random(seed + epoch)`` and split over the *readers* exactly as
lhotse's ``split_for_dataloading`` does (``shards[rank::world][worker::workers]``, i.e. reader
``rank + world * worker`` of ``world * workers`` takes every ``world * workers``-th shard). A reader runs its own
lhotse sampler (the same bucket boundaries on every reader) inside its DataLoader worker and loads its own audio.
So within an epoch every cut is read by exactly one reader, once; readers run through epochs independently (a
reader with fewer cuts starts its next epoch earlier), and each batch says which reader made it and where.

A rank's position is one ``[epoch, next batch]`` per reader plus which reader comes next (the DataLoader takes
batches from its workers in turn, so that order is fixed); restoring it replays each reader's sampler over its
shards and skips what was consumed, like :class:`usad.distill.data.ResumableSampler` does for manifests.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Iterable

import torch
from lhotse import CutSet
from lhotse.shar.readers.lazy import LazySharIterator

from usad.distill import data as data_mod
from usad.errors import ConfigError


def shar_shards(dirs: Iterable[str]) -> list[dict[str, Path]]:
    """Every shard of the Shar directories, as lhotse's reader lists them: ``{"cuts": path, "recording": path}``."""
    shards, fields = [], None
    for d in dirs:
        if not Path(d).is_dir():
            raise ConfigError(f"data.shar: {d} is not a folder; write one with usad.distill.data.write_shar")
        try:
            reader = LazySharIterator(in_dir=d)
        except AssertionError:
            raise ConfigError(f"data.shar: {d} holds no lhotse Shar shards (cuts.*.jsonl.gz); write them with "
                              f"usad.distill.data.write_shar") from None
        if fields is not None and set(reader.streams) != fields:
            raise ConfigError(f"data.shar: {d} has fields {sorted(reader.streams)}, the other folders "
                              f"{sorted(fields)}; write every folder with the same fields")
        fields = set(reader.streams)
        shards.extend(reader.shards)
    if not shards:
        raise ConfigError("data.shar: no shards found")
    return shards


def reader_shards(shards: list, seed: int, epoch: int, reader: int, readers: int) -> list:
    """The shards reader ``reader`` of ``readers`` reads in ``epoch`` (lhotse's shuffle and split)."""
    order = list(shards)
    random.Random(seed + epoch).shuffle(order)
    return order[reader::readers]


def _cuts_of(shards: list, fields: tuple[str, ...]) -> CutSet:
    return CutSet(LazySharIterator(fields={f: [s[f] for s in shards] for f in fields}))


class _ReaderCuts:
    """The cuts of one reader's shards in the current epoch (``set_epoch`` picks them)."""

    def __init__(self, shards: list, seed: int, reader: int, readers: int) -> None:
        self.shards, self.seed, self.reader, self.readers = shards, seed, reader, readers
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        mine = reader_shards(self.shards, self.seed, self.epoch, self.reader, self.readers)
        yield from _cuts_of(mine, tuple(mine[0])) if mine else ()


class SharBatches(torch.utils.data.IterableDataset):
    """One rank's endless batches: DataLoader worker ``w`` serves reader ``rank + world * ((w + first) % workers)``
    starting at ``positions[(w + first) % workers]`` = ``[epoch, next batch]``."""

    def __init__(self, shards: list, *, rank: int, world_size: int, workers: int, positions: list, first: int,
                 seed: int, bins, max_duration: float, shuffle_buffer: int, crop_seconds: float,
                 min_seconds: float, upsample: dict, crop_grid: float) -> None:
        super().__init__()
        self.shards, self.rank, self.world_size, self.workers = shards, rank, world_size, workers
        self.positions, self.first, self.seed, self.bins = positions, first, seed, bins
        self.max_duration, self.shuffle_buffer = max_duration, shuffle_buffer
        self.crop = (crop_seconds, min_seconds, dict(upsample))
        self.crop_grid = crop_grid

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        stream = ((info.id if info is not None else 0) + self.first) % self.workers
        source = _ReaderCuts(self.shards, self.seed, self.rank + self.world_size * stream,
                             self.world_size * self.workers)
        cuts = data_mod.training_cuts(CutSet(source), *self.crop)
        sampler = data_mod.make_sampler(cuts, self.max_duration, 0, self.seed, shuffle_buffer=self.shuffle_buffer,
                                        bins=self.bins)
        epoch, skip = self.positions[stream]
        dataset = data_mod.CropDataset(self.seed, self.crop_grid)
        for item in data_mod.ResumableSampler(sampler, epoch, skip, on_epoch=source.set_epoch):
            batch = dataset[item]
            batch.stream = stream
            yield batch


def shar_loader(dirs: Iterable[str], *, rank: int, world_size: int, num_workers: int, positions: list | None,
                first: int, seed: int, max_duration: float, num_buckets: int, shuffle_buffer: int,
                crop_seconds: float, min_seconds: float, upsample: dict,
                crop_grid: float) -> torch.utils.data.DataLoader:
    """An endless DataLoader of this rank's Shar batches; ``positions``: one ``[epoch, next batch]`` per reader
    (``max(1, num_workers)`` of them; None = the start)."""
    shards = shar_shards(dirs)
    workers = max(1, num_workers)
    readers = world_size * workers
    if len(shards) < readers:
        raise ConfigError(f"data.shar has {len(shards)} shard(s) for {world_size} rank(s) x {workers} DataLoader "
                          f"worker(s) = {readers} readers; every reader needs at least one shard. Write the corpus "
                          f"in at least {readers} shards (write_shar(..., shard_size=N) with a smaller N) or "
                          f"lower data.num_workers")
    positions = [list(p) for p in positions] if positions is not None else [[0, 0] for _ in range(workers)]
    metadata = data_mod.training_cuts(_cuts_of(shards, ("cuts",)), crop_seconds, min_seconds, upsample)
    bins = data_mod.duration_bins(metadata, num_buckets, shuffle_buffer)   # cut metadata only, never audio
    dataset = SharBatches(shards, rank=rank, world_size=world_size, workers=workers, positions=positions,
                          first=first, seed=seed, bins=bins, max_duration=max_duration,
                          shuffle_buffer=shuffle_buffer, crop_seconds=crop_seconds, min_seconds=min_seconds,
                          upsample=upsample, crop_grid=crop_grid)
    return torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=num_workers, persistent_workers=False,
                                       generator=torch.Generator(),  # never draw from the global torch RNG
                                       prefetch_factor=2 if num_workers > 0 else None)
