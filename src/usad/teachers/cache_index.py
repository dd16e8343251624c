"""The feature cache's shard plan and its one index, built by any number of ranks at once.

A manifest is cut into shards of ``shard_size`` clips in manifest order (the plan); rank ``r`` of ``N`` computes
shards ``r, r + N, ...``. Each finished shard is ``shard-<s>.safetensors`` plus ``shard-<s>.json`` (its clips' frame
counts), both renamed into place, so a shard is done exactly when its JSON lists the planned clip ids.
``index.json`` (clip id -> shard, frames) is written only by :func:`merge_index`, and only once every shard of
the plan is done: whichever rank finishes last writes it, with no coordination between ranks (torchrun, SLURM
tasks or separate machines sharing the folder). A complete index left by a different plan (another manifest or
shard size) is first replaced by an incomplete one, so no reader trusts it while its shards are rewritten.
"""
from __future__ import annotations

import json
from pathlib import Path

from usad.io import atomic_write_text

INDEX = "index.json"


def plan_shards(rows: list[dict], shard_size: int) -> list[list[dict]]:
    return [rows[i: i + shard_size] for i in range(0, len(rows), shard_size)]


def shard_name(s: int) -> str:
    return f"shard-{s:05d}.safetensors"


def shard_meta(folder: Path, s: int, rows: list[dict]) -> dict | None:
    """The finished shard's metadata, or None when it is missing or holds other clips."""
    target, meta_path = folder / shard_name(s), folder / f"shard-{s:05d}.json"
    if not (target.is_file() and meta_path.is_file()):
        return None
    meta = json.loads(meta_path.read_text())
    return meta if list(meta["frames"]) == [r["id"] for r in rows] else None


def write_shard_meta(folder: Path, s: int, frames: dict[str, int]) -> None:
    atomic_write_text(folder / f"shard-{s:05d}.json", json.dumps({"frames": frames}))


def _read_index(folder: Path) -> dict | None:
    try:
        return json.loads((folder / INDEX).read_text())
    except (OSError, ValueError):
        return None


def is_complete(folder: Path, plan: list[list[dict]] | None = None) -> bool:
    """The folder's index is complete (and, given a plan, lists exactly the plan's clips in its shards)."""
    index = _read_index(folder)
    if not index or not index.get("complete"):
        return False
    if plan is None:
        return True
    expected = {r["id"]: shard_name(s) for s, rows in enumerate(plan) for r in rows}
    return {cid: v[0] for cid, v in index["clips"].items()} == expected


def forget_other_plan(folder: Path, plan: list[list[dict]], base: dict) -> None:
    """Replace a complete index of another plan by an incomplete one before any shard is rewritten."""
    if is_complete(folder) and not is_complete(folder, plan):
        atomic_write_text(folder / INDEX, json.dumps(base))


def merge_index(folder: Path, plan: list[list[dict]], base: dict) -> bool:
    """Write the complete index when every shard of ``plan`` is done; False (nothing written) otherwise."""
    metas = [shard_meta(folder, s, rows) for s, rows in enumerate(plan)]
    if any(m is None for m in metas):
        return False
    clips = {cid: [shard_name(s), n] for s, m in enumerate(metas) for cid, n in m["frames"].items()}
    atomic_write_text(folder / INDEX, json.dumps({**base, "clips": clips,
                                                  "shards": [shard_name(s) for s in range(len(plan))],
                                                  "complete": True}))
    return True


def missing_shards(folder: Path, plan: list[list[dict]]) -> list[int]:
    return [s for s, rows in enumerate(plan) if shard_meta(folder, s, rows) is None]
