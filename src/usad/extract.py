"""Writing per-file layer features of any encoder (``usad extract``; the encoder is named as in
:mod:`usad.encoders`: a student, a preset, a teacher or a control).

Inputs are files, directories (searched recursively for audio) or manifests (``.jsonl`` per docs/interfaces.md,
or ``.txt``/``.lst`` lists of paths, one a line). Clips are sorted by duration and batched up to
``batch_seconds`` of padded audio; clips longer than ``chunk_seconds`` go through chunked extraction (students)
one at a time. A failing input (unreadable, too short, a bad manifest line, NaN/Inf features) is reported and
skipped; what cannot run at all (encoder, layers, output folder, no input found) raises a UsadError first.

Output per input: ``<out>/<mirrored name>.npy`` holding ``(num_layers_selected, T, D)`` float32 in ascending
layer order when the chosen layers share one width, else one ``<name>.layer_<l>.npy`` ``(T, D_l)`` per layer;
or ``.safetensors`` with one ``layer_<l>`` tensor ``(T, D)`` per layer and metadata; plus
``<out>/extract_summary.json`` (layers, frame rate, layout, written files, failures).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from usad.audio import AudioError, audio_duration, load_audio, pad_batch
from usad.encoders import FrozenEncoder, load_frozen
from usad.errors import ConfigError, UsadError
from usad.io import atomic_open, atomic_write_text, save_safetensors
from usad.manifest import ManifestError, read_manifest_lines

AUDIO_EXTS = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".w64", ".caf"}
LIST_EXTS = {".txt", ".lst", ".list", ".scp"}
MIN_CHUNK_SECONDS = 1.0


@dataclass
class Item:
    """One input clip: ``path`` to read, ``name`` (relative output stem), optional crop in seconds."""

    path: Path
    name: str
    offset: float = 0.0
    duration: float | None = None
    seconds: float = 0.0


def select_layers(spec: str, encoder: FrozenEncoder) -> list[str]:
    """``"3,1"`` or ``"all"`` (its default layers) -> layer names of ``encoder`` in its layer order."""
    layers: list[str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if part == "all":
            layers += encoder.default_layers
        elif part.lstrip("-").isdigit():
            layers.append(str(int(part)))
        else:
            raise ConfigError(f"--layers: {part!r} is not a layer number or 'all'")
    bad = [int(l) for l in layers if l not in encoder.layer_names]
    if bad or not layers:
        raise ConfigError(f"--layers {spec!r}: {encoder.spec} has layers {encoder.layer_names[0]}.."
                          f"{encoder.layer_names[-1]} for feature {encoder.feature!r}; got {bad or 'none'}")
    return sorted(set(layers), key=encoder.layer_names.index)


def prepare_out(out: str) -> Path:
    """``--out`` as a writable folder, created now, so a bad path fails before any audio is processed."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsadError(f"--out {out}: exists and is not a folder; pass a folder for the features")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsadError(f"--out {out}: cannot create the folder ({exc.strerror or exc}); choose a location you "
                        f"can write to") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsadError(f"--out {out}: the folder is not writable; choose a location you can write to")
    return path


def _safe_name(name: str) -> str:
    parts = [p for p in Path(name).with_suffix("").parts if p not in ("", ".", "..", "/")]
    return "/".join(parts) or "clip"


def discover(inputs: list[str], failures: dict[str, str]) -> list[Item]:
    """Expand files, directories and manifests into Items. Unreadable manifests, bad manifest lines (the rest of
    the file is kept) and folders without audio go to ``failures``."""
    items: list[Item] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in AUDIO_EXTS)
            if not found:
                failures[raw] = (f"folder holds no audio files (looked for {', '.join(sorted(AUDIO_EXTS))} "
                                 f"recursively)")
            items += [Item(f, _safe_name(str(f.relative_to(p)))) for f in found]
        elif p.suffix.lower() == ".jsonl":
            try:
                records, problems = read_manifest_lines(p, require=("path",))
            except ManifestError as exc:
                failures[raw] = str(exc)
                continue
            for problem in problems:
                failures[f"{raw} line {problem.line}"] = problem.message
            if not records and not problems:
                failures[raw] = "manifest is empty"
            for rec in records:
                offset = rec["offset"]
                items.append(Item(Path(rec["path"]), _safe_name(str(rec.get("id") or rec["path"])), offset,
                                  rec.get("duration") if offset > 0 else None))
        elif p.suffix.lower() in LIST_EXTS:
            try:
                lines = [ln.strip() for ln in p.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
            except OSError as exc:
                failures[raw] = f"cannot read list ({exc})"
                continue
            if not lines:
                failures[raw] = "list is empty"
            for ln in lines:
                q = Path(ln) if Path(ln).is_absolute() else p.parent / ln
                items.append(Item(q, _safe_name(ln if not Path(ln).is_absolute() else q.name)))
        else:
            items.append(Item(p, _safe_name(p.name)))
    return items


def _load(item: Item) -> torch.Tensor:
    if item.offset or item.duration:
        return load_audio(item.path, name=f"{item.path} [{item.offset:g}s+]", offset=item.offset,
                          duration=None if item.duration is None else float(item.duration))
    return load_audio(item.path)


def output_paths(out_dir: Path, name: str, layers: list[str], fmt: str, per_layer: bool) -> dict[str | None, Path]:
    """Where one input's features go: {None: file} for one file, or {layer: file} for one .npy per layer."""
    if fmt == "safetensors":
        return {None: out_dir / f"{name}.safetensors"}
    if per_layer:
        return {l: out_dir / f"{name}.layer_{l}.npy" for l in layers}
    return {None: out_dir / f"{name}.npy"}


def _write(paths: dict[str | None, Path], feats: dict[str, torch.Tensor], layers: list[str], fmt: str,
           meta: dict) -> None:
    for layer, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "safetensors":
            save_safetensors(path, {f"layer_{l}": feats[l].float().cpu().contiguous() for l in layers},
                             metadata={k: str(v) for k, v in meta.items()})
        else:
            array = feats[layer].float().cpu().numpy() if layer is not None else \
                np.stack([feats[l].float().cpu().numpy() for l in layers])
            with atomic_open(path, "wb") as fh:
                np.save(fh, array)


def _batches(items: list[Item], budget: float) -> list[list[Item]]:
    out, cur = [], []
    for it in sorted(items, key=lambda x: x.seconds):
        if cur and it.seconds * (len(cur) + 1) > budget:
            out.append(cur)
            cur = []
        cur.append(it)
    return out + ([cur] if cur else [])


def _measured(found: list[Item], failures: dict[str, str]) -> list[Item]:
    """Items with their durations (from the manifest or the file header); unreadable files and colliding output
    names go to ``failures``."""
    items, seen = [], {}
    for it in found:
        if it.name in seen:
            failures[str(it.path)] = f"output name {it.name!r} collides with {seen[it.name]}; rename one input"
            continue
        try:
            it.seconds = float(it.duration) if it.duration else audio_duration(it.path)
        except AudioError as exc:
            failures[str(it.path)] = str(exc)
            continue
        seen[it.name] = str(it.path)
        items.append(it)
    return items


def extract(inputs: list[str], out: str, encoder: str, *, layers: str = "all", feature: str = "hidden",
            fmt: str = "npy", batch_seconds: float = 160.0, chunk_seconds: float = 30.0,
            device: str = "cpu", dtype: str = "auto", log: Callable[[str], None] = print) -> dict:
    """Write the features of ``encoder`` (a spec, see :mod:`usad.encoders`) for every input under ``out``; returns
    the summary also written to ``<out>/extract_summary.json`` (``written`` files, ``failed`` inputs and why)."""
    from tqdm import tqdm

    out_dir = prepare_out(out)
    failures: dict[str, str] = {}
    found = discover(inputs, failures)
    if not found:
        listed = "; ".join(f"{k}: {v}" for k, v in list(failures.items())[:5])
        raise UsadError(f"nothing to extract: no audio found in {' '.join(inputs)}"
                        + (f" ({listed})" if listed else "")
                        + ". Pass audio files, folders of audio, .jsonl manifests or .txt lists.")
    items = _measured(found, failures)
    enc = load_frozen(encoder, device, dtype=dtype, feature=feature)
    chosen = select_layers(layers, enc)
    per_layer = fmt == "npy" and len({enc.dims[l] for l in chosen}) > 1
    if per_layer:
        log(f"usad extract: {enc.spec} layers {','.join(chosen)} have different widths "
            f"({', '.join(f'{l}: {enc.dims[l]}' for l in chosen)}), so each layer goes to its own "
            f"<name>.layer_<l>.npy of shape (T, D_l)")
    meta = {"source": enc.spec, "feature": enc.feature, "frame_rate": enc.frame_rate, "layers": ",".join(chosen),
            "precision": enc.precision}
    written: list[str] = []
    long = [it for it in items if enc.chunks_long_audio and it.seconds > chunk_seconds]
    short = [it for it in items if it not in long]
    bar = tqdm(total=len(items), unit="file", desc="extract", disable=None)

    def emit(it: Item, feats: dict[str, torch.Tensor]) -> None:
        bad = [l for l in chosen if not bool(torch.isfinite(feats[l]).all())]
        if bad:
            failures[str(it.path)] = (f"{enc.spec} gave NaN/Inf features (layer(s) [{', '.join(bad)}]); nothing "
                                      f"written for it. The model may be corrupt or diverged, or --dtype too "
                                      f"narrow: try --dtype float32 or another checkpoint")
            return
        paths = output_paths(out_dir, it.name, chosen, fmt, per_layer)
        _write(paths, feats, chosen, fmt, {**meta, "input": str(it.path)})
        written.extend(str(p) for p in paths.values())

    for batch in _batches(short, batch_seconds) + [[it] for it in long]:
        wavs = []
        for it in batch:
            try:
                wavs.append((it, _load(it)))
            except (AudioError, OSError, RuntimeError) as exc:
                failures[str(it.path)] = str(exc)
                bar.update(1)
        if not wavs:
            continue
        try:
            if len(wavs) == 1 and wavs[0][0] in long:
                got = enc.extract_long(wavs[0][1], chosen, chunk_seconds)
            else:
                got = enc(*pad_batch([w for _, w in wavs]), chosen)
        except Exception as exc:  # one bad batch (e.g. out of memory) must not stop the rest
            for it, _ in wavs:
                failures[str(it.path)] = f"{type(exc).__name__}: {exc}"
            bar.update(len(wavs))
            continue
        for i, (it, _) in enumerate(wavs):
            try:
                emit(it, {l: got.layers[l][i, : int(got.mask[i].sum())] for l in chosen})
            except OSError as exc:
                failures[str(it.path)] = f"cannot write output ({exc})"
        bar.update(len(wavs))
    bar.close()
    summary = {**meta, "format": fmt, "npy_layout": "per_layer" if per_layer else "stacked",
               "written": written, "failed": failures}
    atomic_write_text(out_dir / "extract_summary.json", json.dumps(summary, indent=2))
    log(f"usad extract: wrote {len(written)} file(s) to {out_dir} ({enc.spec}, {enc.feature}, layers "
        f"{meta['layers']}, {enc.frame_rate:g} Hz, {enc.precision}); {len(failures)} failed")
    for name, why in failures.items():
        log(f"  FAILED {name}: {why}")
    return summary
