"""How stable is the linear CTC probe (phonemes, PER)? Per-layer probes of a few encoders under several probe
settings and seeds, from the probe feature cache (no encoding unless a feature is missing).

    python benchmarks/ctc_probe_trials.py --features runs/probe-features \\
        --encoder "s1=student:runs/demo/stage1/student" --encoder "whisper-base=teacher:whisper-base,window=clip" \\
        --variant "base=" --variant "lr3=lr=3e-3" --seeds 0,1

A variant is ``NAME=KEY=VALUE;KEY=VALUE`` over :class:`usad.eval.ctc.CTCConfig` fields (empty: the settings the
main job probes with, lr 1e-3). Prints, per encoder, variant and seed, every layer's valid / test 1 - PER (x100)
and the test score of the layer valid picks; writes ``OUT/ctc_trials.json``. A probe setting is only worth
having if the layer valid picks and its test score do not change with the seed.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import yaml

from usad.cli import comma_list


def _variant(text: str) -> tuple[str, dict]:
    name, _, rest = text.partition("=")
    if not name:
        raise SystemExit(f"--variant takes NAME=KEY=VALUE;..., got {text!r}")
    fields = {}
    for item in filter(None, (s.strip() for s in rest.split(";"))):
        k, _, v = item.partition("=")
        try:
            fields[k.strip()] = int(v) if v.strip().lstrip("-").isdigit() else float(v)
        except ValueError:
            fields[k.strip()] = yaml.safe_load(v)
    return name, fields


def main(argv: list[str] | None = None) -> int:
    from usad.encoders import load_frozen
    from usad.eval.ctc import CTCConfig, SequenceSplit, train_ctc_per_layer
    from usad.eval.features import task_features
    from usad.eval.metrics import sequence_item_scores
    from usad.eval.protocol import ProbeProtocol, _sequence
    from usad.eval.suite import find_tasks, probe_task_from_hear

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--suite", default="data/corpus/probe")
    p.add_argument("--task", default="phonemes")
    p.add_argument("--features", default="runs/probe-features", help="probe feature cache")
    p.add_argument("--encoder", action="append", required=True, metavar="NAME=SPEC")
    p.add_argument("--variant", action="append", required=True, type=_variant)
    p.add_argument("--seeds", type=comma_list(int), default="0,1")
    p.add_argument("--out", default="runs/ctc-trials")
    args = p.parse_args(argv)

    task = probe_task_from_hear(find_tasks(args.suite, [args.task])[0])
    protocol = ProbeProtocol()   # the main job's probe: lr 1e-3 (CTCConfig's default), the protocol's steps
    base = CTCConfig(max_steps=protocol.ctc_steps, weights_lr=protocol.weights_lr)
    rows = []
    for enc in args.encoder:
        name, _, spec = enc.partition("=")
        src = load_frozen(spec)
        arrays = task_features(src, task, args.features)
        del src
        layers = list(arrays.splits["train"].layers)
        tr, va, te = (_sequence(arrays.splits[s], layers) for s in ("train", "valid", "test"))
        for vname, fields in args.variant:
            for seed in args.seeds:
                cfg = replace(base, seed=seed, **fields)
                t0 = time.perf_counter()
                probes = train_ctc_per_layer(tr, va, task.num_classes, arrays.frame_rate or 0.0, cfg)
                valid, test = [], []
                for i, probe in enumerate(probes):
                    one = lambda s: SequenceSplit(s.x[:, i], s.offsets, s.tokens)  # noqa: E731
                    valid.append(sequence_item_scores(probe.decode(one(va)), va.tokens).score())
                    test.append(sequence_item_scores(probe.decode(one(te)), te.tokens).score())
                pick = max(range(len(layers)), key=lambda i: valid[i])
                row = {"encoder": name, "variant": vname, "fields": fields, "seed": seed, "layers": layers,
                       "valid": valid, "test": test, "picked": layers[pick], "picked_test": test[pick],
                       "best_steps": [p.steps for p in probes], "valid_loss": [p.valid_loss for p in probes],
                       "seconds": round(time.perf_counter() - t0, 1)}
                rows.append(row)
                print(f"{name:>14} {vname:>8} seed {seed}: "
                      + " ".join(f"{100 * v:.0f}/{100 * t:.0f}" for v, t in zip(valid, test))
                      + f" | picks layer {layers[pick]}: test PER {100 * (1 - test[pick]):.1f}% "
                      f"({row['seconds']:.0f} s)", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ctc_trials.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
