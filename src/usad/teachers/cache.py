"""Feature cache: precompute chosen teacher layers for a corpus manifest, then serve them through the Teacher
contract (``CachedTeacher``), looked up by clip id with frame-accurate random crops.

Layout: ``<out>/<teacher-slug>__L<layers>__<hash12>/`` holding ``shard-00000.safetensors``... (fp16 tensors named
``<clip id>/<layer>``, shape (T, D)) and ``index.json``. The hash covers the teacher's declared identity
(TeacherInfo: name, rates, dims, feature, extra such as hop sizes), the layers and the cache format, so a changed
teacher configuration gets a new folder and never reads a stale cache. Shards are written to a temp file and
renamed; finished shards are skipped when the build is run again (resume). Many ranks can build one cache at
once, each its own shards, the last to finish writing the index (:mod:`usad.teachers.cache_index`).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict
from pathlib import Path

import torch

from . import cache_index as index_mod
from .base import Teacher, TeacherInfo, TeacherOutput
from .batching import lengths_to_mask
from usad.audio import load_audio, pad_batch
from usad.errors import ConfigError, UsadError
from usad.io import save_safetensors
from usad.manifest import read_manifest

FORMAT_VERSION = 1
SHARD_SIZE = 256     # clips per shard; a cache is reused for a manifest only when built with the same plan


class CacheNotFound(UsadError, FileNotFoundError):
    """No feature cache matches the teacher's configuration and layers (also a FileNotFoundError)."""


# ---- identity ----------------------------------------------------------------------------------------------
def config_hash(info: TeacherInfo, layers: list[int]) -> str:
    ident = {k: v for k, v in asdict(info).items() if k != "licence"}
    blob = json.dumps({"teacher": ident, "layers": sorted(layers), "format": FORMAT_VERSION}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def cache_key(info: TeacherInfo, layers: list[int]) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", info.name).strip("_")[-60:]
    return f"{slug}__L{'-'.join(map(str, sorted(layers)))}__{config_hash(info, layers)}"


def frame_slice(offset_s: float, num_samples: int, frame_rate: float, sample_rate: int = 16000) -> tuple[int, int]:
    """(first frame, frame count) of the cached frames that cover a crop starting ``offset_s`` seconds into the clip
    and ``num_samples`` long: frames round(offset * rate) ... + ceil(duration * rate). Exact when offsets lie on the
    teacher's frame grid (multiples of 1 / frame_rate)."""
    start = int(round(offset_s * frame_rate))
    count = max(1, math.ceil(num_samples * frame_rate / sample_rate - 1e-6))
    return start, count


def _load_clip(row: dict) -> torch.Tensor:
    dur = row.get("duration")
    return load_audio(row["path"], name=row["id"], offset=float(row.get("offset") or 0.0),
                      duration=float(dur) if dur else None)


# ---- building ----------------------------------------------------------------------------------------------
def _teacher_device(teacher: Teacher) -> torch.device:
    """Where a teacher's torch weights live (CPU for teachers without any, e.g. ONNX or TFLite models)."""
    for t in (*teacher.parameters(), *teacher.buffers()):
        return t.device
    return torch.device("cpu")


def _compute_batch(teacher: Teacher, rows: list[dict], layers: list[int], tensors: dict) -> dict[str, int]:
    wav, lengths = pad_batch([_load_clip(r) for r in rows])
    # audio goes where the teacher is (`usad cache --device cuda`); the features come back to the CPU below
    out = teacher(wav.to(_teacher_device(teacher)), lengths, layers=layers)
    frames = {}
    for b, r in enumerate(rows):
        n = int(out.mask[b].sum())
        frames[r["id"]] = n
        for l in layers:
            f = out.features[l][b, :n].float()
            if not torch.isfinite(f).all():
                raise UsadError(f"teacher {teacher.name!r} gave NaN/Inf for clip {r['id']!r}, layer {l}")
            tensors[f"{r['id']}/{l}"] = f.half().contiguous().cpu()
    return frames

# ----------------------------------------------------------------------------------------------------------
def build_cache(teacher: Teacher, manifest: str | Path, out_dir: str | Path, layers: list[int] | None = None,
                shard_size: int = SHARD_SIZE, batch_size: int = 8, progress: bool = True, rank: int = 0,
                world_size: int = 1) -> Path:
    """Compute ``layers`` of ``teacher`` for every clip of ``manifest``; returns the keyed cache folder.

    With ``world_size`` > 1 this call computes only rank ``rank``'s shards (``rank, rank + world_size, ...``);
    run one call per rank, at once, anywhere that shares ``out_dir``. The rank that finishes the last shard
    writes the index, which makes the cache usable (:func:`usad.teachers.cache_index.is_complete`). Finished
    shards are kept when a build is run again, with any number of ranks (resume after a kill).
    """
    from tqdm import tqdm

    layers = sorted(set(layers or teacher.default_layers()))
    bad = [l for l in layers if l not in teacher.info.dims]
    if bad:
        raise ConfigError(f"teacher {teacher.name!r} has no layer(s) {bad}; available: {sorted(teacher.info.dims)}")
    if not (world_size >= 1 and 0 <= rank < world_size):
        raise ConfigError(f"cache rank {rank} of world size {world_size}: need 0 <= rank < world size")
    rows = read_manifest(manifest)
    folder = Path(out_dir) / cache_key(teacher.info, layers)
    folder.mkdir(parents=True, exist_ok=True)
    plan = index_mod.plan_shards(rows, shard_size)
    base = {"format": FORMAT_VERSION, "teacher": asdict(teacher.info), "layers": layers,
            "config_hash": config_hash(teacher.info, layers), "frame_rate": teacher.info.frame_rate,
            "clips": {}, "shards": []}
    index_mod.forget_other_plan(folder, plan, base)
    mine = list(range(rank, len(plan), world_size))
    label = f"cache {teacher.name}" + (f" [rank {rank}/{world_size}]" if world_size > 1 else "")
    bar = tqdm(total=sum(len(plan[s]) for s in mine), desc=label, unit="clip", disable=not progress)
    for s in mine:
        shard_rows = plan[s]
        if index_mod.shard_meta(folder, s, shard_rows) is None:   # else finished by an earlier run: resume
            tensors, frames = {}, {}
            for i in range(0, len(shard_rows), batch_size):
                batch_rows = shard_rows[i: i + batch_size]
                frames.update(_compute_batch(teacher, batch_rows, layers, tensors))
                bar.update(len(batch_rows))
            save_safetensors(folder / index_mod.shard_name(s), tensors,
                             metadata={"teacher": teacher.name, "layers": json.dumps(layers)})
            index_mod.write_shard_meta(folder, s, frames)
        else:
            bar.update(len(shard_rows))
    bar.close()
    index_mod.merge_index(folder, plan, base)
    return folder


# ---- reading -----------------------------------------------------------------------------------------------
def _matching_caches(root: Path, info: TeacherInfo, layers: list[int] | None) -> tuple[list[Path], list[Path]]:
    """(caches under ``root`` of the teacher declaring ``info`` that hold every layer in ``layers``, fewest layers
    first; every cache folder looked at)."""
    candidates = [root] if (root / "index.json").is_file() else sorted(p.parent for p in root.glob("*/index.json"))
    matches = []
    for folder in candidates:
        idx = json.loads((folder / "index.json").read_text())
        same_teacher = idx.get("config_hash") == config_hash(info, idx.get("layers", []))
        if same_teacher and set(layers or []) <= set(idx["layers"]):
            matches.append((len(idx["layers"]), folder))
    return [folder for _, folder in sorted(matches)], candidates


def find_cache(root: str | Path, info: TeacherInfo, layers: list[int] | None = None) -> Path:
    """The keyed folder under ``root`` (or ``root`` itself) built by a teacher declaring ``info`` and holding every
    layer in ``layers`` (any layers when None); the smallest such cache wins."""
    root = Path(root)
    matches, candidates = _matching_caches(root, info, layers)
    if matches:
        return matches[0]
    have = [c.name for c in candidates]
    raise CacheNotFound(f"no feature cache for teacher {info.name!r} (layers {layers or 'any'}) with a matching "
                        f"configuration under {root} (found: {have or 'none'}); build it with "
                        f"`usad cache --teacher {info.name} --manifest ... --out {root}`")


def complete_cache_for(root: str | Path, info: TeacherInfo, layers: list[int], manifest: str | Path,
                       shard_size: int = SHARD_SIZE) -> Path | None:
    """A finished cache under ``root`` that building ``layers`` over ``manifest`` would only repeat: the same
    teacher configuration, every layer of ``layers`` (perhaps more) and exactly the manifest's clips in the same
    shards; the smallest such cache, or None. Lets a planner skip loading a teacher whose targets are all on disk
    (a stage-2 run whose teacher's final layer a stage-1 cache already holds)."""
    plan = index_mod.plan_shards(read_manifest(manifest), shard_size)
    matches, _ = _matching_caches(Path(root), info, layers)
    return next((folder for folder in matches if index_mod.is_complete(folder, plan)), None)


class CachedTeacher(Teacher):
    """Serves cached features through the teacher contract: ``teacher(wav, lengths, layers, ids=[...],
    offsets=(B,) seconds)`` returns the frames of each clip covering ``[offset, offset + lengths[b] / 16 kHz)``
    (see ``frame_slice``), as float32, with a mask. ``wav`` itself is not read (only its batch size and lengths)."""

    uses_ids = True
    supports_dtype = False

    def __init__(self, cache_dir: str | Path, teacher_info: TeacherInfo, layers: list[int] | None = None) -> None:
        super().__init__()
        self.folder = find_cache(cache_dir, teacher_info, layers)
        self.index = json.loads((self.folder / "index.json").read_text())
        if not self.index.get("complete"):
            raise UsadError(f"feature cache {self.folder} is incomplete (an interrupted build, or ranks of a "
                            f"parallel build still running); run `usad cache` again to finish it")
        self.layers = sorted(layers) if layers else self.index["layers"]
        self.info = TeacherInfo(**{**teacher_info.__dict__, "dims": {l: teacher_info.dims[l] for l in self.layers}})
        self._handles: dict[str, object] = {}

    def default_layers(self, k: int = 4) -> list[int]:
        return list(self.layers)

    def _handle(self, shard: str):
        from safetensors import safe_open

        if shard not in self._handles:
            self._handles[shard] = safe_open(str(self.folder / shard), framework="pt")
        return self._handles[shard]

    def clip_frames(self, clip_id: str) -> int:
        try:
            return int(self.index["clips"][clip_id][1])
        except KeyError:
            raise KeyError(f"clip id {clip_id!r} is not in feature cache {self.folder}") from None

    def _forward_ids(self, wav, lengths, layers, ids, offsets) -> TeacherOutput:
        rate = self.info.frame_rate
        offs = [0.0] * len(ids) if offsets is None else [float(o) for o in offsets]
        spans = []
        for cid, off, n in zip(ids, offs, lengths.tolist()):
            start, count = frame_slice(off, int(n), rate)
            total = self.clip_frames(cid)
            spans.append((start, max(0, min(count, total - start))))
        T = max(c for _, c in spans) if spans else 0
        feats = {}
        for l in layers:
            out = torch.zeros(len(ids), T, self.info.dims[l])
            for b, (cid, (start, count)) in enumerate(zip(ids, spans)):
                if count:
                    shard = self.index["clips"][cid][0]
                    out[b, :count] = self._handle(shard).get_slice(f"{cid}/{l}")[start: start + count].float()
            feats[l] = out.to(wav.device)
        mask = lengths_to_mask(torch.tensor([c for _, c in spans], device=wav.device), T)
        return TeacherOutput(features=feats, mask=mask, frame_rate=rate)
