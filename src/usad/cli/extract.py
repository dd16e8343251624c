"""`usad extract`: write per-file layer features from a student encoder or a teacher.

Inputs are files, directories (searched recursively for audio) or manifests (``.jsonl`` per docs/interfaces.md,
or ``.txt``/``.lst`` lists of paths, one a line). Clips are sorted by duration and batched up to
``--batch-seconds`` of padded audio; clips longer than ``--chunk-seconds`` go through chunked extraction
(student) one at a time. A failing input (unreadable, too short, a bad manifest line, NaN/Inf features) is
reported and skipped; the exit code is 1 when any input failed, 2 when nothing can run (model, layers, --out,
no input found).

Output per input: ``<out>/<mirrored name>.npy`` holding ``(num_layers_selected, T, D)`` float32 in ascending
layer order when the chosen layers share one width, else one ``<name>.layer_<l>.npy`` ``(T, D_l)`` per layer;
or ``.safetensors`` with one ``layer_<l>`` tensor ``(T, D)`` per layer and metadata; plus
``<out>/extract_summary.json`` (layers, frame rate, layout, written files, failures).
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from usad.errors import ConfigError, UsadError
from usad.precision import DTYPE_CHOICES, TORCH_DTYPES, autocast, describe, resolve_dtype

AUDIO_EXTS = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".w64", ".caf"}
LIST_EXTS = {".txt", ".lst", ".list", ".scp"}
MIN_CHUNK_SECONDS = 1.0


def _seconds(minimum: float):
    """argparse type: a number of seconds >= ``minimum``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not value >= minimum:
            raise argparse.ArgumentTypeError(f"{text} s is too small; use at least {minimum:g} s")
        return value
    parse.__name__ = "seconds"
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", help="audio files, directories (recursive), .jsonl manifests or "
                                                  ".txt lists of paths")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="student checkpoint folder (save_pretrained output) or hub id org/name")
    src.add_argument("--preset", help="randomly initialised student preset (small|base|large|xlarge|xxlarge)")
    src.add_argument("--teacher", help="teacher name, see `usad teachers` (e.g. whisper-base)")
    parser.add_argument("--out", required=True, help="output folder (input names are mirrored below it)")
    parser.add_argument("--layers", default="all", help="comma list of layer numbers and/or 'all' (default all)")
    parser.add_argument("--feature", choices=["hidden", "ffn"], default="hidden",
                        help="student output: hidden state or FFN branch (teachers give their own feature)")
    parser.add_argument("--format", choices=["npy", "safetensors"], default="npy")
    parser.add_argument("--batch-seconds", type=_seconds(1.0), default=160.0,
                        help="padded audio per batch (s, >= 1)")
    parser.add_argument("--chunk-seconds", type=_seconds(MIN_CHUNK_SECONDS), default=30.0,
                        help=f"student: longer clips run alone in chunks of this length with 5 s of context on "
                             f"each side (s, >= {MIN_CHUNK_SECONDS:g})")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--dtype", choices=DTYPE_CHOICES, default="auto",
                        help="student precision: auto (default) = bfloat16 autocast on a CPU with native bf16 "
                             "(avx512_bf16/amx_bf16), else float32; float32 forces full precision. Teachers run "
                             "in float32 unless bfloat16/float16 is asked for")


@dataclass
class Item:
    """One input clip: ``path`` to read, ``name`` (relative output stem), optional crop in seconds."""

    path: Path
    name: str
    offset: float = 0.0
    duration: float | None = None
    seconds: float = 0.0


@dataclass
class FeatureSource:
    """Student or teacher behind one call. ``run(wav (B,S), lengths (B,), layers)`` -> ({layer: (B,T,D)}, mask)."""

    name: str
    frame_rate: float
    layer_range: list[int]
    feature: str
    run: Callable[[torch.Tensor, torch.Tensor, list[int]], tuple[dict[int, torch.Tensor], torch.Tensor]]
    run_long: Callable[[torch.Tensor, list[int]], tuple[dict[int, torch.Tensor], torch.Tensor]] | None = None
    default_layers: list[int] = field(default_factory=list)
    dims: dict[int, int] = field(default_factory=dict)       # layer -> feature width
    precision: str = "float32 (asked for)"                     # what runs, and why


def feature_source(args: argparse.Namespace) -> FeatureSource:
    """Build the student (``--model``/``--preset``) or teacher (``--teacher``) as a FeatureSource."""
    try:
        device = torch.device(args.device)
    except RuntimeError as exc:
        raise ConfigError(f"--device {args.device!r}: {exc}; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {args.device}: torch sees no GPU here; use --device cpu")
    if args.teacher:
        from usad.teachers.registry import load_teacher  # lazy: teachers pull heavy optional packages

        # "auto" keeps teachers in float32: bf16 fidelity was checked for the student, not for every teacher
        asked = None if args.dtype in ("auto", "float32") else TORCH_DTYPES[args.dtype]
        teacher = load_teacher(args.teacher, device=device, dtype=asked)
        info = teacher.info

        def run_teacher(wav, lengths, layers):
            out = teacher(wav.to(device), lengths.to(device), layers=layers)
            return out.features, out.mask

        return FeatureSource(info.name, float(info.frame_rate), sorted(info.dims), info.feature, run_teacher,
                             default_layers=[l for l in sorted(info.dims) if l >= 1] or sorted(info.dims),
                             dims=dict(info.dims),
                             precision="float32" if asked is None else f"{args.dtype} (asked for)")
    from usad.model.encoder import Encoder

    dtype = resolve_dtype(args.dtype, device, "--dtype")
    enc = Encoder.from_pretrained(args.model, device=device) if args.model else Encoder.from_preset(args.preset)
    enc = enc.to(device=device).eval()      # float32 weights; bf16/fp16 run as autocast (usad.precision)
    n, feature = enc.config.num_layers, args.feature

    def pick(out, layers):
        return {l: out.layer(l, feature) for l in layers}, out.mask

    def run_student(wav, lengths, layers):
        with torch.no_grad(), autocast(device, dtype):
            return pick(enc(wav.to(device), lengths.to(device), target_layer=max(layers)), layers)

    def run_long(wav, layers):
        with autocast(device, dtype):
            out = enc.extract_long(wav, chunk_seconds=args.chunk_seconds, target_layer=max(layers),
                                   include_ffn=feature == "ffn")
        return pick(out, layers)

    layer_range = list(range(0 if feature == "hidden" else 1, n + 1))
    return FeatureSource(args.model or f"preset:{args.preset}", enc.frame_rate, layer_range, feature,
                         run_student, run_long, default_layers=list(range(1, n + 1)),
                         dims={l: enc.config.dim for l in layer_range},
                         precision=describe(dtype, args.dtype, device))


def parse_layers(spec: str, source: FeatureSource) -> list[int]:
    layers: list[int] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if part == "all":
            layers += source.default_layers
        elif part.lstrip("-").isdigit():
            layers.append(int(part))
        else:
            raise ConfigError(f"--layers: {part!r} is not a layer number or 'all'")
    bad = [l for l in layers if l not in source.layer_range]
    if bad or not layers:
        raise ConfigError(f"--layers {spec!r}: {source.name} has layers {source.layer_range[0]}.."
                          f"{source.layer_range[-1]} for feature {source.feature!r}; got {bad or 'none'}")
    return sorted(set(layers))


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
    from usad.manifest import ManifestError, read_manifest_lines

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
    from usad.audio import load_audio

    if item.offset or item.duration:
        return load_audio(item.path, name=f"{item.path} [{item.offset:g}s+]", offset=item.offset,
                          duration=None if item.duration is None else float(item.duration))
    return load_audio(item.path)


def output_paths(out_dir: Path, name: str, layers: list[int], fmt: str, per_layer: bool) -> dict[int | None, Path]:
    """Where one input's features go: {None: file} for one file, or {layer: file} for one .npy per layer."""
    if fmt == "safetensors":
        return {None: out_dir / f"{name}.safetensors"}
    if per_layer:
        return {l: out_dir / f"{name}.layer_{l}.npy" for l in layers}
    return {None: out_dir / f"{name}.npy"}


def _write(paths: dict[int | None, Path], feats: dict[int, torch.Tensor], layers: list[int], fmt: str,
           meta: dict) -> None:
    from usad.io import atomic_open, save_safetensors

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


def _nonfinite(feats: dict[int, torch.Tensor], layers: list[int]) -> list[int]:
    return [l for l in layers if not bool(torch.isfinite(feats[l]).all())]


def _batches(items: list[Item], budget: float) -> list[list[Item]]:
    out, cur = [], []
    for it in sorted(items, key=lambda x: x.seconds):
        if cur and it.seconds * (len(cur) + 1) > budget:
            out.append(cur)
            cur = []
        cur.append(it)
    return out + ([cur] if cur else [])


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from usad.audio import AudioError, audio_duration, pad_batch
    from usad.io import atomic_write_text

    out_dir = prepare_out(args.out)
    failures: dict[str, str] = {}
    found = discover(args.inputs, failures)
    if not found:
        listed = "; ".join(f"{k}: {v}" for k, v in list(failures.items())[:5])
        raise UsadError(f"nothing to extract: no audio found in {' '.join(args.inputs)}"
                        + (f" ({listed})" if listed else "")
                        + ". Pass audio files, folders of audio, .jsonl manifests or .txt lists.")
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
    source = feature_source(args)
    layers = parse_layers(args.layers, source)
    widths = sorted({source.dims.get(l, 0) for l in layers})
    per_layer = args.format == "npy" and len(widths) > 1
    if per_layer:
        print(f"usad extract: {source.name} layers {','.join(map(str, layers))} have different widths "
              f"({', '.join(f'{l}: {source.dims[l]}' for l in layers)}), so each layer goes to its own "
              f"<name>.layer_<l>.npy of shape (T, D_l)")
    meta = {"source": source.name, "feature": source.feature, "frame_rate": source.frame_rate,
            "layers": ",".join(map(str, layers)), "precision": source.precision}
    written: list[str] = []
    long = [it for it in items if source.run_long and it.seconds > args.chunk_seconds]
    short = [it for it in items if it not in long]
    bar = tqdm(total=len(items), unit="file", desc="extract", disable=None)

    def emit(it: Item, feats: dict[int, torch.Tensor]) -> None:
        bad = _nonfinite(feats, layers)
        if bad:
            failures[str(it.path)] = (f"{source.name} gave NaN/Inf features (layer(s) {bad}); nothing written for "
                                      f"it. The model may be corrupt or diverged, or --dtype too narrow: try "
                                      f"--dtype float32 or another checkpoint")
            return
        paths = output_paths(out_dir, it.name, layers, args.format, per_layer)
        _write(paths, feats, layers, args.format, {**meta, "input": str(it.path)})
        written.extend(str(p) for p in paths.values())

    for batch in _batches(short, args.batch_seconds) + [[it] for it in long]:
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
                feats, mask = source.run_long(wavs[0][1], layers)
            else:
                padded, lengths = pad_batch([w for _, w in wavs])
                feats, mask = source.run(padded, lengths, layers)
        except Exception as exc:  # one bad batch (e.g. out of memory) must not stop the rest
            for it, _ in wavs:
                failures[str(it.path)] = f"{type(exc).__name__}: {exc}"
            bar.update(len(wavs))
            continue
        for i, (it, _) in enumerate(wavs):
            try:
                emit(it, {l: feats[l][i, : int(mask[i].sum())] for l in layers})
            except OSError as exc:
                failures[str(it.path)] = f"cannot write output ({exc})"
        bar.update(len(wavs))
    bar.close()
    summary = {**meta, "format": args.format, "npy_layout": "per_layer" if per_layer else "stacked",
               "written": written, "failed": failures}
    atomic_write_text(out_dir / "extract_summary.json", json.dumps(summary, indent=2))
    print(f"usad extract: wrote {len(written)} file(s) to {out_dir} ({source.name}, {source.feature}, layers "
          f"{meta['layers']}, {source.frame_rate:g} Hz, {source.precision}); {len(failures)} failed")
    for name, why in failures.items():
        print(f"  FAILED {name}: {why}")
    return 1 if failures else 0
