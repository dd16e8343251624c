"""Training data: manifests or lhotse Shar shards -> cropped, domain-mixed cuts -> duration-bucketed batches.

The pipeline is a pure function of (seed, epoch, batch index): bucketing comes from lhotse's
``DynamicBucketingSampler`` (seeded per epoch), crop offsets from a per-cut RNG seeded with (seed, epoch, cut id).
Resuming therefore needs only (epoch, batches consumed): ``ResumableSampler`` replays the epoch's sampler without
loading audio and skips what was consumed, which stays exact with any number of DataLoader workers.
"""
from __future__ import annotations

import math
import os
import zlib
from itertools import islice
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch
from lhotse import CutSet, MonoCut, Recording
from lhotse.audio import AudioSource
from lhotse.dataset import DynamicBucketingSampler, SimpleCutSampler
from lhotse.dataset.sampling.dynamic_bucketing import estimate_duration_buckets
from lhotse.utils import fastcopy
from usad.audio import open_audio, pad_batch
from usad.manifest import CLIP_FIELDS, ManifestError, read_manifest

SAMPLE_RATE = 16000


@dataclass
class Batch:
    """wav: (B, S) float32 16 kHz, zero-padded; lengths: (B,) valid samples; domains: B labels (None = unknown)."""

    wav: torch.Tensor
    lengths: torch.Tensor
    domains: list
    ids: list                       # clip ids from the manifest (up-sampled copies share their clip's id)
    offsets: torch.Tensor           # (B,) seconds: where each crop starts inside its clip
    epoch: int
    index: int                      # batch index within the epoch (0-based) on this rank (or reader)
    stream: int = 0                 # which of the rank's readers made it (Shar: one per DataLoader worker)

    @property
    def seconds(self) -> float:
        return float(self.lengths.sum()) / SAMPLE_RATE


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def manifest_cuts(paths: Iterable[str]) -> CutSet:
    """Manifests -> a CutSet of whole clips (cut = [offset, offset + duration) of its file; custom domain).

    Audio must already be 16 kHz mono (the corpus builder resamples once); the first file of each manifest is
    checked and a clear error says what to do otherwise.
    """
    cuts = []
    for path in paths:
        rows = read_manifest(path, require=CLIP_FIELDS)
        with open_audio(rows[0]["path"], f"manifest {path}: {rows[0]['path']}") as fh:
            rate = fh.samplerate
        if rate != SAMPLE_RATE:
            raise ManifestError(f"manifest {path}: {rows[0]['path']} is {rate} Hz; distillation reads "
                                f"16 kHz audio. Rebuild the corpus with `usad corpus` (it resamples once).")
        for row in rows:
            offset = float(row.get("offset") or 0.0)
            duration = float(row["duration"])
            total = offset + duration
            rec = Recording(id=row["id"], sources=[AudioSource(type="file", channels=[0], source=row["path"])],
                            sampling_rate=SAMPLE_RATE, num_samples=int(round(total * SAMPLE_RATE)),
                            duration=total)
            cuts.append(MonoCut(id=row["id"], start=offset, duration=duration, channel=0, recording=rec,
                                custom={"domain": row.get("domain")}))
    return CutSet.from_cuts(cuts)


def write_shar(cuts: CutSet, out_dir: str, shard_size: int = 1000) -> dict:
    """Write whole clips as lhotse Shar tar shards (FLAC audio + JSONL cuts) for streaming from any storage."""
    os.makedirs(out_dir, exist_ok=True)
    return cuts.to_shar(out_dir, fields={"recording": "flac"}, shard_size=shard_size)


def read_shar(dirs: Iterable[str]) -> CutSet:
    """Lazily stream cuts from one or more Shar directories (audio is read shard by shard, never all at once)."""
    sets = [CutSet.from_shar(in_dir=d) for d in dirs]
    return sets[0] if len(sets) == 1 else CutSet(_Chain(sets))


class _Chain:
    def __init__(self, sets):
        self.sets = sets

    def __iter__(self):
        for s in self.sets:
            yield from s


class _Prepared:
    """Re-iterable lazy view: drop short clips, up-sample domains, shorten each cut to the crop length."""

    def __init__(self, source: CutSet, crop: float, min_seconds: float, upsample: dict):
        self.source, self.crop, self.min_seconds, self.upsample = source, crop, min_seconds, upsample

    def __iter__(self) -> Iterator[MonoCut]:
        for cut in self.source:
            if cut.duration < self.min_seconds:
                continue
            domain = (cut.custom or {}).get("domain")
            factor = float(self.upsample.get(domain, 1.0)) if domain else 1.0
            copies = int(math.floor(factor))
            if (_stable_hash(cut.id) % 10007) / 10007 < factor - copies:
                copies += 1
            for r in range(copies):
                span = [float(cut.start), float(cut.duration)]
                custom = {"domain": domain, "span": span, "clip_id": cut.id}
                yield fastcopy(cut, id=cut.id if r == 0 else f"{cut.id}#up{r}",
                               duration=min(float(cut.duration), self.crop), custom=custom)


def training_cuts(source: CutSet, crop_seconds: float, min_seconds: float = 0.5,
                  upsample: dict | None = None) -> CutSet:
    """Cuts ready for bucketing: durations already equal to the crop that will be read."""
    return CutSet(_Prepared(source, crop_seconds, min_seconds, dict(upsample or {})))


def config_cuts(d) -> CutSet:
    """The training cuts a recipe's ``data`` section names: its manifests and/or Shar folders, cropped."""
    if not d.train and not d.shar:
        raise ValueError("config data: give data.train (JSONL manifests) or data.shar (lhotse Shar dirs)")
    sources = ([manifest_cuts(d.train)] if d.train else []) + ([read_shar(d.shar)] if d.shar else [])
    source = sources[0] if len(sources) == 1 else CutSet(_Chain(sources))
    return training_cuts(source, d.crop_seconds, d.min_seconds, d.upsample)


class ResumableSampler(torch.utils.data.Sampler):
    """Wraps a lhotse sampler; yields ``(epoch, index, CutSet)`` from ``(epoch, skip)`` on, forever.

    ``epoch``/``skip`` are set from a checkpoint before iteration; the caller tracks consumed batches.
    ``on_epoch(epoch)`` is called before each epoch starts (an epoch-dependent source, e.g. a Shar reader).
    """

    def __init__(self, sampler: DynamicBucketingSampler | SimpleCutSampler, epoch: int = 0, skip: int = 0,
                 max_epochs: int | None = None, on_epoch=None) -> None:
        self.sampler, self.epoch, self.skip, self.max_epochs = sampler, epoch, skip, max_epochs
        self.on_epoch = on_epoch

    def __iter__(self):
        epoch, skip = self.epoch, self.skip
        while self.max_epochs is None or epoch < self.max_epochs:
            if self.on_epoch is not None:
                self.on_epoch(epoch)
            self.sampler.set_epoch(epoch)
            empty = True
            for index, cuts in enumerate(self.sampler):
                empty = False
                if index < skip:
                    continue
                yield epoch, index, cuts
            if empty:
                raise ValueError("the training data yields no batch: are the manifests empty, or every clip "
                                 "shorter than data.min_seconds?")
            epoch, skip = epoch + 1, 0


def bins_sample_size(shuffle_buffer: int) -> int:
    """How many of the first cuts the bucket boundaries are estimated from."""
    return min(10000, max(shuffle_buffer, 100))


def duration_bins(cuts: CutSet, num_buckets: int, shuffle_buffer: int = 20000) -> list[float] | None:
    """The bucket boundaries :func:`make_sampler` would estimate from ``cuts`` (None: too few cuts to bucket).
    Lets a reader that sees only part of the corpus bucket like every other reader."""
    first = list(islice(cuts, bins_sample_size(shuffle_buffer)))
    buckets = min(num_buckets, len(first))
    return None if buckets < 2 else list(estimate_duration_buckets(first, num_buckets=buckets))


def make_sampler(cuts: CutSet, max_duration: float, num_buckets: int, seed: int, world_size: int = 1,
                 rank: int = 0, shuffle_buffer: int = 20000, bins: list[float] | None | str = "estimate"):
    """lhotse's duration-bucketing sampler; ``shuffle_buffer`` cuts are held in memory for shuffling/bucketing.

    Bucket boundaries are estimated from the first cuts (or given as ``bins``; None = no bucketing); a corpus
    with fewer cuts than buckets gets fewer buckets, and a single-cut corpus lhotse's plain ``SimpleCutSampler``.
    """
    common = dict(max_duration=max_duration, shuffle=True, drop_last=False, seed=seed, world_size=world_size,
                  rank=rank)
    if bins == "estimate":
        sample = bins_sample_size(shuffle_buffer)
        seen = sum(1 for _ in islice(cuts, sample))
        buckets = min(num_buckets, seen)
        if buckets < 2:
            return SimpleCutSampler(cuts, **common)
        return DynamicBucketingSampler(cuts, num_buckets=buckets, buffer_size=max(shuffle_buffer, 100),
                                       num_cuts_for_bins_estimate=sample, **common)
    if not bins:
        return SimpleCutSampler(cuts, **common)
    return DynamicBucketingSampler(cuts, duration_bins=list(bins), buffer_size=max(shuffle_buffer, 100), **common)


class CropDataset(torch.utils.data.Dataset):
    """Loads one batch: ``(epoch, index, CutSet)`` -> Batch with random crops (deterministic per seed/epoch/id)."""

    def __init__(self, seed: int = 0, crop_grid: float = 0.04) -> None:
        self.seed, self.crop_grid = seed, crop_grid

    def __getitem__(self, item) -> Batch:
        epoch, index, cuts = item
        waves, domains, ids, offsets = [], [], [], []
        for cut in cuts:
            span_start, span_dur = cut.custom["span"]
            rng = np.random.default_rng([self.seed, epoch, _stable_hash(cut.id)])
            slack = max(0.0, span_dur - cut.duration)
            delta = float(rng.uniform(0.0, slack)) if slack > 0 else 0.0
            if self.crop_grid > 0:  # crop starts on a frame grid shared by student and cached teacher frames
                delta = math.floor(delta / self.crop_grid) * self.crop_grid
            start = span_start + delta
            audio = cut.recording.load_audio(offset=start, duration=cut.duration)
            waves.append(torch.from_numpy(np.ascontiguousarray(audio[0], dtype=np.float32)))
            domains.append(cut.custom.get("domain"))
            ids.append(cut.custom.get("clip_id", cut.id))
            offsets.append(start - span_start)
        wav, lengths = pad_batch(waves)
        return Batch(wav=wav, lengths=lengths, domains=domains, ids=ids,
                     offsets=torch.tensor(offsets, dtype=torch.float64), epoch=epoch, index=index)


def make_loader(cuts: CutSet, *, max_duration: float, num_buckets: int, seed: int, num_workers: int,
                epoch: int = 0, skip: int = 0, world_size: int = 1, rank: int = 0,
                shuffle_buffer: int = 20000, crop_grid: float = 0.04) -> torch.utils.data.DataLoader:
    """An endless DataLoader of Batch objects starting at (epoch, skip)."""
    sampler = ResumableSampler(make_sampler(cuts, max_duration, num_buckets, seed, world_size, rank,
                                            shuffle_buffer), epoch, skip)
    return torch.utils.data.DataLoader(CropDataset(seed, crop_grid), sampler=sampler, batch_size=None,
                                       num_workers=num_workers, persistent_workers=False,
                                       generator=torch.Generator(),  # never draw from the global torch RNG
                                       prefetch_factor=2 if num_workers > 0 else None)
