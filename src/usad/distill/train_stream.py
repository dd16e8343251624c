"""One rank's training batches and its data position: what a checkpoint saves and a resume restores.

Two sources, one interface (``next(stream)``, ``stream.position``):

- **manifests** (``data.train``, or manifests and Shar together): lhotse's sampler cuts one global batch sequence
  per epoch and rank ``r`` of ``R`` takes batches ``r, r + R, ...`` (every rank gets the same number per epoch).
  Position: ``[epoch, batches consumed on this rank]``.
- **Shar only** (``data.shar``): every rank and DataLoader worker reads only its own shards
  (:mod:`usad.distill.shar_stream`). Position: ``{"streams": [[epoch, next batch], ...], "next": reader}``.

Resuming on the same number of ranks (and, for Shar, of DataLoader workers) continues exactly. On another number
(:func:`start_position`): manifests continue exactly where the global batch sequence stopped when the batches
already read in the epoch split evenly over the new ranks (always when the new number divides the old, e.g.
2 -> 1 or 8 -> 4); otherwise, and always for Shar (whose shard split depends on the number of readers), every
rank starts the epoch after the newest one any rank had reached. Nothing is then read twice within an epoch;
the unread rest of the interrupted epoch is left out of it.
"""
from __future__ import annotations

from usad.distill import data as data_mod
from usad.distill.shar_stream import shar_loader


def uses_shar_readers(cfg) -> bool:
    return bool(cfg.data.shar) and not cfg.data.train


def start_position(saved: list | None, world_size: int, rank: int, shar: bool, workers: int):
    """This rank's starting position from the positions a checkpoint saved (one per rank), and a note (or None)
    saying how the data continues when the number of ranks or readers changed."""
    if saved is None:
        return _epoch_start(0, shar, workers), None
    if shar and all(isinstance(p, dict) for p in saved):
        if len(saved) == world_size and all(len(p["streams"]) == workers for p in saved):
            return {"streams": [list(s) for s in saved[rank]["streams"]], "next": int(saved[rank]["next"])}, None
        note = (f"the checkpoint was written by {len(saved)} rank(s) x {len(saved[0]['streams'])} Shar reader(s) "
                f"each and this run has {world_size} x {workers}; the shards split differently")
    elif not shar and not any(isinstance(p, dict) for p in saved):
        if len(saved) == world_size:
            return [int(x) for x in saved[rank]], None
        ends = {(int(p[0]), int(p[1])) for p in saved}
        if len(ends) == 1:                       # lhotse keeps ranks in step: same epoch, same count
            epoch, consumed = ends.pop()
            done = consumed * len(saved)         # global batches of this epoch already read
            if done % world_size == 0:
                return [epoch, done // world_size], (
                    f"the checkpoint was written by {len(saved)} rank(s) and this run has {world_size}: the data "
                    f"continues exactly (epoch {epoch}, {done} global batches read, {done // world_size} per rank)")
        note = (f"the checkpoint was written by {len(saved)} rank(s) and this run has {world_size}; its data "
                f"position does not split evenly over them")
    else:
        note = "the checkpoint's data positions come from another kind of data source"
    epoch = _next_epoch(saved)
    return _epoch_start(epoch, shar, workers), f"{note}, so every rank starts epoch {epoch}"


def _next_epoch(saved: list) -> int:
    epochs = [s[0] for p in saved for s in (p["streams"] if isinstance(p, dict) else [p])]
    return max(int(e) for e in epochs) + 1


def _epoch_start(epoch: int, shar: bool, workers: int):
    return {"streams": [[epoch, 0] for _ in range(workers)], "next": 0} if shar else [epoch, 0]


class TrainStream:
    """``next(stream)`` -> Batch; ``stream.position``: where a resume continues (plain lists, JSON/torch-safe)."""

    def __init__(self, loader, position, shar: bool) -> None:
        self._batches = iter(loader)
        self.shar = shar
        self._position = position

    def __iter__(self):
        return self

    def __next__(self) -> data_mod.Batch:
        batch = next(self._batches)
        if self.shar:
            self._position["streams"][batch.stream] = [batch.epoch, batch.index + 1]
            self._position["next"] = (batch.stream + 1) % len(self._position["streams"])
        else:
            self._position = [batch.epoch, batch.index + 1]
        return batch

    @property
    def position(self):
        if self.shar:
            return {"streams": [list(s) for s in self._position["streams"]], "next": self._position["next"]}
        return list(self._position)


def open_stream(cfg, cuts, env, saved: list | None = None, log=print) -> TrainStream:
    """This rank's endless batches, from the start or from a checkpoint's ``positions`` (one entry per rank)."""
    d, seed = cfg.data, cfg.train.seed
    shar = uses_shar_readers(cfg)
    workers = max(1, d.num_workers)
    position, note = start_position(saved, env.world_size, env.rank, shar, workers)
    if note and env.is_main:
        log(f"resume: {note}")
    if shar:
        loader = shar_loader(d.shar, rank=env.rank, world_size=env.world_size, num_workers=d.num_workers,
                             positions=position["streams"], first=position["next"], seed=seed,
                             max_duration=d.max_duration, num_buckets=d.num_buckets,
                             shuffle_buffer=d.shuffle_buffer, crop_seconds=d.crop_seconds,
                             min_seconds=d.min_seconds, upsample=d.upsample, crop_grid=d.crop_grid)
    else:
        epoch, skip = position
        loader = data_mod.make_loader(cuts, max_duration=d.max_duration, num_buckets=d.num_buckets, seed=seed,
                                      num_workers=d.num_workers, epoch=epoch, skip=skip,
                                      world_size=env.world_size, rank=env.rank, shuffle_buffer=d.shuffle_buffer,
                                      crop_grid=d.crop_grid)
    return TrainStream(loader, position, shar)
