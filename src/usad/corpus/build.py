"""`usad corpus build`: locate sources, plan every clip, write what is missing, then manifests and metadata.

Output layout::

    OUT/build_info.json               seed, size, sources found/missing, sha256 of every manifest and split file
    OUT/train/{speech,sound,music,all}.jsonl   training-corpus manifests (paths relative to OUT/train)
    OUT/train/audio/<domain>/<id>.flac          16 kHz mono FLAC
    OUT/probe/<task>/...                        HEAR 2021 tasks (see usad.corpus.hear)
    OUT/probe/suite.json, OUT/probe/README.md   per-task sizes, classes, split rule, metrics, chance levels
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from tqdm import tqdm

from usad.io import atomic_write_text

from .clip import Clip
from .context import BuildContext
from .hear import dumps
from .locate import SOURCES, install, locate
from .manifest import write_manifest
from .probe import ProbeTaskPlan, write_probe_task
from .sizes import SIZES
from .store import ClipRenderError, ensure_clip
from .suite_readme import suite_readme
from .tasks import keywords, music, phonemes, sound, sound_detection, speech, style
from .training import plan_music, plan_sound, plan_speech

TASKS: dict[str, Callable[[BuildContext], ProbeTaskPlan | None]] = {
    "spoken_language": speech.spoken_language,
    "speaker_id": speech.speaker_id,
    "spoken_keywords": keywords.spoken_keywords,
    "phonemes": phonemes.phonemes,
    "sound_event": sound.sound_event,
    "sound_detection": sound_detection.sound_detection,
    "instrument_family": music.instrument_family,
    "note_pitch": music.note_pitch,
    "composer_style": style.composer_style,
    "note_events": music.note_events,
}
TRAIN = "train"   # name of the training corpus in --only
DOMAINS = ("speech", "sound", "music")


@dataclass
class BuildResult:
    out: Path
    rendered: int = 0
    skipped: int = 0
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    domains: dict[str, dict[str, float]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def remove_retired_tasks(suite_dir: Path) -> list[str]:
    """Delete task folders an older version of this builder wrote for tasks it no longer has (spoken_digits
    before spoken_keywords), so that a suite folder holds exactly the current tasks. Returns what it did."""
    done = []
    if not suite_dir.is_dir():
        return done
    for meta in sorted(suite_dir.glob("*/task_metadata.json")):
        try:
            version = str(json.loads(meta.read_text()).get("version", ""))
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            continue
        if meta.parent.name not in TASKS and version.startswith("usad-"):
            shutil.rmtree(meta.parent)
            done.append(f"removed {meta.parent}: task {meta.parent.name} is no longer part of the suite")
    return done


def parse_only(only: str | list[str] | None) -> set[str]:
    names = set(TASKS) | {TRAIN}
    if only is None:
        return names
    chosen = {x.strip() for x in (only.split(",") if isinstance(only, str) else only) if x.strip()}
    unknown = chosen - names
    if unknown:
        raise ValueError(f"--only: unknown name(s) {sorted(unknown)}; choose from {sorted(names)}")
    return chosen


def build(out: str | Path, size: str = "default", seed: int = 0, only: str | list[str] | None = None,
          do_install: bool = False, progress: bool = True, train_minutes: float | None = None) -> BuildResult:
    """Build (or complete) the corpus and probe suite under ``out``. Deterministic for a given (size, seed).

    ``train_minutes``: the training corpus's minutes per domain instead of the size's (the probe suite, and so
    what the training corpus excludes, stays that of ``size``); the clips of a smaller budget are a subset."""
    if size not in SIZES:
        raise ValueError(f"--size must be one of {sorted(SIZES)}, got {size!r}")
    if train_minutes is not None and not train_minutes > 0:
        raise ValueError(f"--train-minutes must be positive, got {train_minutes}")
    selected = parse_only(only)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    roots = {name: locate(name) for name in SOURCES}
    if do_install and any(r is None for r in roots.values()):
        install([n for n, r in roots.items() if r is None])
        roots = {name: locate(name) for name in SOURCES}
    sizes = SIZES[size]
    if train_minutes is not None:
        sizes = replace(sizes, train_seconds_per_domain=60.0 * train_minutes)
    ctx = BuildContext(seed, sizes, roots, out / "_work", progress=progress)
    result = BuildResult(out)

    # 1. plan the tasks (no audio work); with the training corpus, plan them all so it can exclude every
    #    probe-test source (every clip of a k-fold task is a test item of some fold; a scene excludes the real
    #    effects mixed into it) and any other split a task keeps unheard
    planned: dict[str, ProbeTaskPlan] = {}
    for name, fn in TASKS.items():
        if name not in selected and TRAIN not in selected:
            continue
        task = fn(ctx)
        if task is not None and task.entries:
            planned[name] = task
    unheard_keys = {k for t in planned.values() for e in t.unheard_entries() for k in e.clip.material_keys}
    train_plan: dict[str, tuple[list[Clip], dict[str, float]]] = {}
    if TRAIN in selected:
        train_plan = {"speech": plan_speech(ctx, unheard_keys), "sound": plan_sound(ctx, unheard_keys),
                      "music": plan_music(ctx, unheard_keys)}

    total = sum(len(t.entries) for n, t in planned.items() if n in selected)
    total += sum(len(c) for c, _ in train_plan.values())
    bar = tqdm(total=total, desc=f"usad corpus ({size})", unit="clip", disable=not progress, file=sys.stderr)

    def tick(rendered: bool) -> None:
        if rendered:
            result.rendered += 1
        else:
            result.skipped += 1
        bar.update(1)
        bar.set_postfix(rendered=result.rendered, skipped=result.skipped, refresh=False)

    # 2. probe tasks
    suite_dir = out / "probe"
    suite_path = suite_dir / "suite.json"
    suite = json.loads(suite_path.read_text()) if suite_path.exists() else {"tasks": {}}
    for name, task in planned.items():
        if name not in selected:
            continue
        bar.set_description(f"probe {name}")
        stats = write_probe_task(task, suite_dir, tick, ctx.messages)
        suite["tasks"][name] = {"domain": task.domain, "description": task.description,
                                "embedding_type": task.embedding_type, "prediction_type": task.prediction_type,
                                "split_rule": task.split_rule, "metrics": task.metrics,
                                "sample_duration": task.sample_duration, **stats}
        result.tasks[name] = suite["tasks"][name]

    # 3. training corpus
    hashes: dict[str, str] = {}
    if train_plan:
        tdir = out / "train"
        all_records = []
        for domain, (clips, _) in train_plan.items():
            bar.set_description(f"train {domain}")
            records = []
            for c in sorted(clips, key=lambda c: c.id):
                rel = f"audio/{domain}/{c.id}.flac"
                try:
                    dur, rendered = ensure_clip(c, tdir / rel)
                except ClipRenderError as err:
                    ctx.messages.append(f"training corpus: {err}")
                    tick(False)
                    continue
                tick(rendered)
                records.append({"id": c.id, "path": rel, "duration": round(dur, 4), "domain": domain,
                                "offset": 0.0, "source": c.source, "synthetic": c.synthetic, **c.labels})
            hashes[f"train/{domain}.jsonl"] = write_manifest(tdir / f"{domain}.jsonl", records)
            result.domains[domain] = {"clips": len(records), "hours": round(sum(r["duration"] for r in records)
                                                                             / 3600, 4),
                                      "synthetic_hours": round(sum(r["duration"] for r in records
                                                                   if r["synthetic"]) / 3600, 4)}
            all_records += records
        hashes["train/all.jsonl"] = write_manifest(tdir / "all.jsonl", all_records)
    bar.close()

    suite["tasks"] = {n: t for n, t in suite["tasks"].items() if n in TASKS}   # tasks of an older suite layout
    suite["seed"], suite["size"] = seed, size
    suite["total_seconds"] = round(sum(t.get("total_seconds", 0.0) for t in suite["tasks"].values()), 2)
    suite["total_clips"] = sum(t.get("total_clips", 0) for t in suite["tasks"].values())
    ctx.messages += remove_retired_tasks(suite_dir)
    atomic_write_text(suite_path, dumps(suite))
    atomic_write_text(suite_dir / "README.md", suite_readme(suite))
    for name in sorted(suite["tasks"]):
        for p in sorted((suite_dir / name).glob("*.json")) + [suite_dir / name / "labelvocabulary.csv",
                                                             suite_dir / name / "manifest.jsonl"]:
            if p.exists():
                hashes[f"probe/{name}/{p.name}"] = _sha(p)
    for domain in DOMAINS:
        p = out / "train" / f"{domain}.jsonl"
        if f"train/{domain}.jsonl" not in hashes and p.exists():
            hashes[f"train/{domain}.jsonl"] = _sha(p)
    if (out / "train" / "all.jsonl").exists():
        hashes.setdefault("train/all.jsonl", _sha(out / "train" / "all.jsonl"))
    combined = hashlib.sha256("".join(f"{k} {v}\n" for k, v in sorted(hashes.items())).encode()).hexdigest()
    prev = out / "build_info.json"
    info = json.loads(prev.read_text()) if prev.exists() else {}
    info.update({"seed": seed, "size": size, "train_minutes": train_minutes, "manifest_sha256": combined,
                 "files_sha256": hashes,
                 "sources": {n: (str(r) if r else None) for n, r in roots.items()},
                 "missing": ctx.messages, "domains": {**info.get("domains", {}), **result.domains},
                 "tasks": sorted(suite["tasks"])})
    atomic_write_text(prev, dumps(info))
    result.messages = ctx.messages
    return result
