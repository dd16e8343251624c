"""What does a Whisper-front-end student's layer 0 hold? Layer 0 is the sum of two parts: Whisper's conv stem
(copied from Whisper-base by the warm start) and the gated spectral branch (fbank -> conv subsampler, new in the
student). This probes a clip-level task of the probe suite from each part alone and from their sum:

    python benchmarks/layer0_parts.py --task note_pitch \\
        --encoder "s1=student:runs/demo/stage1/student" --encoder "init=random:runs/demo/stage1/student"

Each clip becomes the mean and standard deviation of its layer-0 frames; a logistic regression is fitted on train
with C chosen on valid (0.01, 0.1, 1) and scored on test (accuracy x100). A quick diagnostic, not the suite's
probe protocol: compare its numbers with each other, not with the report's.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

PARTS = ("sum", "stem", "spectral")


@torch.no_grad()
def _parts(model, wav: torch.Tensor) -> dict[str, np.ndarray]:
    lengths = torch.tensor([wav.shape[1]])
    mel, mel_lengths = model.frontend(wav, lengths)
    stem, _ = model.subsampler(mel, mel_lengths)
    spectral = model.spectral(wav, lengths, stem.shape[1])
    out = {"sum": stem + spectral, "stem": stem, "spectral": spectral}
    return {k: torch.cat([v[0].mean(0), v[0].std(0)]).numpy() for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from usad import load_audio
    from usad.encoders import parse_spec, student_encoder
    from usad.eval.suite import probe_task_from_hear

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--suite", default="data/corpus/probe")
    p.add_argument("--task", default="note_pitch", help="a clip-level (multiclass) task of the suite")
    p.add_argument("--encoder", action="append", required=True, metavar="NAME=SPEC",
                   help="student:DIR or random:DIR (the same shape, random weights, seed 0)")
    args = p.parse_args(argv)

    task = probe_task_from_hear(Path(args.suite) / args.task)
    if task.embedding_type != "scene" or not {"train", "valid", "test"} <= set(task.splits):
        raise SystemExit(f"{args.task}: needs a clip-level task with train/valid/test splits")
    splits = {s: task.splits[s] for s in ("train", "valid", "test")}
    for enc in args.encoder:
        name, _, spec = enc.partition("=")
        model = student_encoder(parse_spec(spec)).eval()
        if model.spectral is None:
            raise SystemExit(f"{name}: no spectral branch (student.overrides.spectral_branch); nothing to split")
        feats = {part: {} for part in PARTS}
        for split, items in splits.items():
            rows = [_parts(model, load_audio(str(clip.path))[None]) for clip in items]
            for part in PARTS:
                feats[part][split] = np.stack([r[part] for r in rows])
        y = {s: [clip.labels[0] for clip in items] for s, items in splits.items()}
        for part in PARTS:
            x = feats[part]
            scale = StandardScaler().fit(x["train"])
            best = None
            for c in (0.01, 0.1, 1.0):
                clf = LogisticRegression(C=c, max_iter=2000).fit(scale.transform(x["train"]), y["train"])
                valid = clf.score(scale.transform(x["valid"]), y["valid"])
                if best is None or valid > best[0]:
                    best = (valid, clf.score(scale.transform(x["test"]), y["test"]), c)
            print(f"{name:>10} {part:>9}: valid {100 * best[0]:.1f}  test {100 * best[1]:.1f}  (C={best[2]})",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
