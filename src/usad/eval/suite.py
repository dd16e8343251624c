"""Probe several encoders on a HEAR-format suite and write the report: ``run_probe_suite``.

A suite is a folder of HEAR 2021 task folders (read by ``usad.corpus.hear.read_task``). Each encoder's features
are computed once per task and cached; every task is probed with the fixed protocol (``ProbeProtocol``);
k-fold tasks rotate folds (fold i test, fold i+1 valid, the rest train) and average over rotations.

Controls are probed beside the encoders unless ``controls=False``: for every student folder, a random-init
encoder of exactly its config (``random:DIR``), and once the spectral statistics of the log-mel front end
(``spectral:fbank``). Every headline score gets bootstrap replicates (paired across encoders), and every
(student or control, teacher) pair gets teacher-recovery scores on the frame-level tasks' test audio.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from usad.encoders import load_frozen, parse_spec
from usad.eval.bootstrap import replicates
from usad.eval.features import ProbeClip, ProbeTask, task_cache_dir, task_features
from usad.eval.protocol import (Fit, ProbeProtocol, SplitArrays, TaskArrays, TaskResult, choose_headline,
                                evaluate_task)
from usad.eval.report import write_report
from usad.eval.result_cache import (load_recovery, load_task_result, recovery_path, save_recovery,
                                    save_task_result)
from usad.eval.results import EncoderEntry, Results, TaskEntry

SPECTRAL = "spectral:fbank"

_DOMAIN_WORDS = {
    "speech": ("speech", "speaker", "language", "lang", "word", "digit", "letter", "phone", "emotion", "vox",
               "spoken", "asr", "keyword", "voice"),
    "music": ("music", "pitch", "instrument", "genre", "chord", "note", "melody", "tempo", "key", "composer",
              "nsynth", "beat", "singing"),
}


def infer_domain(task_name: str, metadata: dict | None = None) -> str:
    """The task's ``domain`` metadata field, else a guess from its name (speech / music / sound)."""
    if metadata and metadata.get("domain"):
        return str(metadata["domain"])
    low = task_name.lower()
    for domain, words in _DOMAIN_WORDS.items():
        if any(w in low for w in words):
            return domain
    return "sound"


def probe_task_from_hear(task_dir: str | Path) -> ProbeTask:
    """Read one HEAR task folder (validated by the corpus reader) into what probing needs."""
    from usad.corpus.hear import read_task

    ht = read_task(task_dir)
    h = hashlib.sha256()
    for f in sorted(ht.root.glob("*.json")) + [ht.root / "labelvocabulary.csv"]:
        h.update(f.name.encode() + f.read_bytes())
    splits: dict[str, list[ProbeClip]] = {}
    for split, examples in ht.splits.items():
        if ht.embedding_type == "event":
            splits[split] = [ProbeClip(ex.path, events=[(l["label"], float(l["start"]), float(l["end"]))
                                                   for l in ex.labels]) for ex in examples]
        else:
            splits[split] = [ProbeClip(ex.path, labels=[str(l) for l in ex.labels]) for ex in examples]
    return ProbeTask(ht.name, infer_domain(ht.name, ht.metadata), ht.embedding_type, ht.prediction_type,
                     list(ht.vocabulary), splits, list(ht.metadata.get("evaluation") or []), h.hexdigest()[:16])


def _concat(parts: list[SplitArrays]) -> SplitArrays:
    if len(parts) == 1:
        return parts[0]
    layers = {n: torch.cat([p.layers[n] for p in parts]) for n in parts[0].layers}
    offsets = None
    if parts[0].offsets is not None:
        acc, off = [0], 0
        for p in parts:
            acc += list(off + np.asarray(p.offsets[1:]))
            off += int(p.offsets[-1])
        offsets = np.array(acc)
    tokens = None if parts[0].tokens is None else [t for p in parts for t in p.tokens]
    return SplitArrays(layers, torch.cat([p.target for p in parts]), offsets, tokens)


def _rotations(arrays: TaskArrays) -> list[TaskArrays]:
    names = list(arrays.splits)
    if set(names) >= {"train", "valid", "test"}:
        return [arrays]
    k = len(names)
    if k < 3:
        raise ValueError(f"task {arrays.name!r}: k-fold probing needs at least 3 folds, got {names}")
    out = []
    for i in range(k):
        test, valid = names[i], names[(i + 1) % k]
        train = [arrays.splits[n] for n in names if n not in (test, valid)]
        out.append(replace(arrays, splits={"train": _concat(train), "valid": arrays.splits[valid],
                                           "test": arrays.splits[test]}))
    return out


def _average(results: list[TaskResult]) -> TaskResult:
    """Fold rotations -> one result: each candidate's valid/test averaged over folds, its per-fold items kept
    (for the fold-and-item bootstrap); the headline is chosen on the averaged valid scores."""
    if len(results) == 1:
        return results[0]

    def avg(fits: list[Fit]) -> Fit:
        tests = [f.test for f in fits]
        w = None if fits[0].layer_weights is None else np.mean([f.layer_weights for f in fits], 0).tolist()
        return Fit(fits[0].probe, float(np.median([f.lr for f in fits])), float(np.mean([f.valid for f in fits])),
                   float(np.mean(tests)), float(np.std(tests)), w, fits[0].reads,
                   [fold for f in fits for fold in f.items])

    r0 = results[0]
    weighted = {k: avg([r.weighted[k] for r in results]) for k in r0.weighted}
    per_layer = {k: [avg([r.per_layer[k][i] for r in results]) for i in range(len(r0.layers))]
                 for k in r0.per_layer}
    headline = choose_headline(weighted, per_layer)
    return TaskResult(r0.task, r0.domain, r0.metric, headline, weighted, per_layer, r0.layers, r0.weighted_layers,
                      {"folds": len(results), "n_test": sum(r.extra.get("n_test", 0) for r in results)})


def with_controls(encoders: dict[str, str]) -> dict[str, str]:
    """``encoders`` plus a random-init twin of every student folder and the spectral-statistics control."""
    out = dict(encoders)
    for spec in map(parse_spec, encoders.values()):
        if spec.kind == "student":
            twin = f"random:{spec.target}"
            if twin not in out.values():
                out[f"random-init ({spec.label.split(':', 1)[1]})"] = twin
    if SPECTRAL not in out.values():
        out["spectral stats"] = SPECTRAL
    return out


def _dedupe_random_twins(encoders: dict[str, str]) -> dict[str, str]:
    """Two students of one config share one random-init control (same architecture, same seed)."""
    from usad.checkpoint import read_config

    seen: dict[str, str] = {}
    out = {}
    for name, spec in encoders.items():
        parsed = parse_spec(spec)
        if parsed.kind == "random":
            try:
                key = repr(sorted(read_config(parsed.target).items()))
            except Exception:   # noqa: BLE001 - an unreadable folder is reported when it is loaded
                key = parsed.target
            if key in seen:
                continue
            seen[key] = name
        out[name] = spec
    return out


def find_tasks(suite_dir: str | Path, only: list[str] | None = None) -> list[Path]:
    suite = Path(suite_dir)
    if not suite.is_dir():
        raise FileNotFoundError(f"probe suite {suite} does not exist; build one with `usad corpus` or point "
                                "--suite at a folder of HEAR task folders")
    dirs = sorted(p.parent for p in suite.glob("*/task_metadata.json"))
    if only:
        missing = sorted(set(only) - {d.name for d in dirs})
        if missing:
            raise ValueError(f"task(s) {missing} not found in {suite}; available: {[d.name for d in dirs]}")
        dirs = [d for d in dirs if d.name in only]
    if not dirs:
        raise FileNotFoundError(f"no HEAR task (*/task_metadata.json) under {suite}")
    return dirs


def run_probe_suite(suite_dir: str | Path, encoders: dict[str, str] | list[str], out_dir: str | Path,
                    *, protocol: ProbeProtocol | None = None, cache_dir: str | Path | None = None,
                    device: str = "cpu", tasks: list[str] | None = None, batch_size: int = 8,
                    plots: bool = True, controls: bool = True, recovery: bool = True,
                    reuse_results: bool = True, log: Callable[[str], None] | None = print) -> Results:
    """Probe every encoder (and, with ``controls``, the controls) on every task of ``suite_dir``; write
    results.json, report.md and plots to ``out_dir``.

    encoders: {display name: spec} or a list of specs (:mod:`usad.encoders`). cache_dir: feature cache (default
    ``<out_dir>/features``); with ``reuse_results``, probe and recovery results already in it for the same
    encoder, task, protocol and probe code are read back instead of recomputed (``usad.eval.result_cache``).
    """
    protocol = protocol or ProbeProtocol()
    if isinstance(encoders, (list, tuple)):
        encoders = {parse_spec(s).label: s for s in encoders}
    if not encoders:
        raise ValueError("run_probe_suite: give at least one encoder spec")
    if controls:
        encoders = _dedupe_random_twins(with_controls(encoders))
    out_dir = Path(out_dir)
    cache_dir = Path(cache_dir) if cache_dir else out_dir / "features"
    log = log or (lambda _m: None)
    probe_tasks = [probe_task_from_hear(d) for d in find_tasks(suite_dir, tasks)]
    res = Results(str(suite_dir), [], [], {}, protocol.to_dict())
    for pt in probe_tasks:
        res.tasks.append(TaskEntry(pt.name, pt.domain, pt.embedding_type, pt.prediction_type, "",
                                   {s: len(c) for s, c in pt.splits.items()}))
    frame_tests: dict[str, dict[str, tuple[SplitArrays, float]]] = {}   # encoder -> frame task -> test frames
    students = {n: s for n, s in encoders.items() if parse_spec(s).kind == "student"}
    reused: list[str] = []
    for name, spec in encoders.items():
        t0 = time.perf_counter()
        log(f"[probe] loading {name} ({spec})")
        src = load_frozen(spec, device=device)
        control_of = [n for n, s in students.items() if parse_spec(spec).kind == "random" and _same_config(spec, s)]
        res.encoders.append(EncoderEntry(name, spec, src.kind, src.domain, src.identity, src.frame_rate,
                                         len(src.layer_names), control_of))
        res.scores[name], res.replicates[name] = {}, {}
        for pt, entry in zip(probe_tasks, res.tasks):
            arrays = task_features(src, pt, cache_dir, batch_size=batch_size, log=log)
            entry.metric = arrays.metric
            task_dir = task_cache_dir(src.identity, pt, cache_dir)
            cached = load_task_result(task_dir, protocol) if reuse_results else None
            if cached is not None:
                result, reps = cached
                reused.append(f"{name}/{pt.name}")
            else:
                result = _average([evaluate_task(a, protocol) for a in _rotations(arrays)])
                reps = replicates(pt.name, result.headline.items)
                save_task_result(task_dir, protocol, result, reps)
            res.scores[name][pt.name] = result
            res.replicates[name][pt.name] = reps
            if recovery and pt.embedding_type != "scene" and "test" in arrays.splits:
                frame_tests.setdefault(name, {})[pt.name] = (arrays.splits["test"], arrays.frame_rate)
            shown = result.headline
            log(f"[probe] {name} / {pt.name}: {arrays.metric} = {_shown(arrays.metric, shown.test)} "
                f"({shown.reads}, {shown.probe}, lr {shown.lr:g})")
        res.timings[name] = round(time.perf_counter() - t0, 2)
        del src
    if reused:
        log(f"[probe] read {len(reused)} earlier result(s) of the same encoder, task, protocol and probe code "
            f"from {cache_dir} (reuse_results=False recomputes them)")
    if recovery:
        t0 = time.perf_counter()
        res.recovery = _recovery(res.encoders, frame_tests, res.tasks, probe_tasks, cache_dir, reuse_results, log)
        res.timings["recovery"] = round(time.perf_counter() - t0, 2)
    write_report(res, out_dir, plots=plots)
    log(f"[probe] wrote {out_dir / 'report.md'} and {out_dir / 'results.json'}")
    return res


def _recovery(encoders: list[EncoderEntry], frame_tests, tasks: list[TaskEntry], probe_tasks: list[ProbeTask],
              cache_dir: Path, reuse: bool, log: Callable[[str], None] = lambda _m: None) -> list[dict]:
    """Teacher recovery of every non-teacher encoder, one encoder at a time so each one's rows can be kept."""
    from usad.eval.recovery import teacher_recovery

    domains = {t.name: t.domain for t in tasks}
    teachers = [e for e in encoders if e.kind == "teacher"]
    keys = [f"{t.name}-{t.key}" for t in probe_tasks if t.name in {n for f in frame_tests.values() for n in f}]
    rows: list[dict] = []
    for e in encoders:
        if e.kind == "teacher":
            continue
        path = recovery_path(cache_dir, e.identity, [(t.name, t.identity) for t in teachers], keys)
        got = load_recovery(path) if reuse else None
        if got is None:
            log(f"[recovery] {e.name}: how much of each teacher layer its features hold (ridge, test audio)")
            got = teacher_recovery(teachers + [e], frame_tests, domains, log=log)
            save_recovery(path, got)
        else:
            log(f"[recovery] {e.name}: read from {path}")
        rows += [r | {"encoder": e.name} for r in got]
    return rows


def _shown(metric: str, value: float) -> str:
    from usad.eval.metrics import display_value

    return f"{100 * display_value(metric, value):.1f}"


def _same_config(random_spec: str, student_spec: str) -> bool:
    from usad.checkpoint import read_config

    try:
        return read_config(parse_spec(random_spec).target) == read_config(parse_spec(student_spec).target)
    except Exception:   # noqa: BLE001
        return False
