"""What may change when a run resumes: a resumed run continues the checkpoint's optimiser state, schedule and data
order, so a changed setting (a new ``optim.lr``, another student shape or teacher) would be silently ignored or
break the run. :func:`check_resume` compares the run folder's ``config.yaml`` (written by the run that made the
checkpoint) with the new config and refuses, listing every differing key, unless only keys in
:data:`SAFE_ON_RESUME` differ. It also checks the checkpoint's tensors against the new run.

The number of ranks may change (a checkpoint of any layout loads into any other; see
:mod:`usad.distill.train_stream` for where the data continues). ``optim.grad_accum`` may change with it when
ranks x grad_accum, i.e. the global batch, stays the same (4 ranks x 1 onto 2 ranks x 2); a change of the
number of ranks that changes the global batch is allowed and reported.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from usad.errors import ConfigError

# Keys that change how long or how verbosely a run goes on, never what it computes.
SAFE_ON_RESUME = frozenset({
    "train.max_steps", "train.max_minutes", "train.log_every", "train.ckpt_every", "train.keep_checkpoints",
    "train.tensorboard", "train.peak_tflops", "train.resume", "train.out_dir", "data.num_workers",
})
SHOWN = 12


class ResumeError(ConfigError):
    """A checkpoint that this config cannot continue; the message lists what differs and what to do."""


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{"optim": {"lr": 1}} -> {"optim.lr": 1}; list items get their index ("teachers.0.name")."""
    if isinstance(tree, dict) and tree:
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(tree, (list, tuple)) and tree:
        out = {}
        for i, v in enumerate(tree):
            out.update(flatten(v, f"{prefix}.{i}" if prefix else str(i)))
        return out
    return {prefix: tree}


def config_differences(saved: dict, current: dict) -> list[tuple[str, Any, Any]]:
    """(key, saved value, new value) for every key that differs, except those in SAFE_ON_RESUME."""
    missing = object()
    a = flatten(yaml.safe_load(yaml.safe_dump(saved)))     # one normal form: tuples -> lists, as config.yaml
    b = flatten(yaml.safe_load(yaml.safe_dump(current)))
    diffs = []
    for key in sorted(set(a) | set(b)):
        old, new = a.get(key, missing), b.get(key, missing)
        if old != new and key not in SAFE_ON_RESUME:
            diffs.append((key, None if old is missing else old, None if new is missing else new))
    return diffs


def _shape_problems(saved: dict, expected: dict) -> list[str]:
    missing = sorted(set(expected) - set(saved))
    extra = sorted(set(saved) - set(expected))
    wrong = [f"{k} {tuple(saved[k].shape)} vs {tuple(expected[k].shape)}"
             for k in sorted(set(saved) & set(expected)) if tuple(saved[k].shape) != tuple(expected[k].shape)]
    out = []
    for label, items in (("missing", missing), ("unexpected", extra), ("shape (checkpoint vs config)", wrong)):
        if items:
            out.append(f"{label}: {', '.join(items[:5])}{' ...' if len(items) > 5 else ''}")
    return out


def _same_global_batch(diffs: list, old_batch: int, old_ranks: int, cfg, world_size: int) -> list:
    """``diffs`` without a grad_accum change that keeps ranks x grad_accum (the global batch); warns when the
    number of ranks alone changes the global batch."""
    new_batch = world_size * cfg.optim.grad_accum
    if new_batch == old_batch:
        return [d for d in diffs if d[0] != "optim.grad_accum"]
    if old_ranks != world_size and not any(d[0] == "optim.grad_accum" for d in diffs):
        keep = f"optim.grad_accum={old_batch // world_size}" if old_batch % world_size == 0 else \
            f"ranks x optim.grad_accum = {old_batch}"
        print(f"warning: the checkpoint was written by {old_ranks} rank(s) and this run has {world_size}, so a step "
              f"now averages {new_batch} micro-batches instead of {old_batch}; {keep} keeps the global batch",
              flush=True)
    return diffs


def check_resume(cfg, checkpoint: str | Path, state: dict, model, world_size: int = 1) -> None:
    """Raise ResumeError when ``cfg`` cannot continue ``checkpoint`` (its loaded ``state``) with ``model``."""
    checkpoint = Path(checkpoint)
    old_ranks = len(state.get("positions", [])) or world_size
    run_dir = checkpoint.parent.parent                      # <run>/checkpoints/step_<N>.pt
    advice = (f"Drop these changes to continue that run, or start a new run with another train.out_dir "
              f"(train.resume=never starts over in {run_dir} and overwrites its checkpoints)")
    saved_path = run_dir / "config.yaml"
    if saved_path.is_file():
        try:
            saved = yaml.safe_load(saved_path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ResumeError(f"cannot resume from {checkpoint}: {saved_path} is unreadable ({exc}); restore it "
                              f"or start a new run with another train.out_dir") from None
        old_batch = old_ranks * int((saved.get("optim") or {}).get("grad_accum", 1))
        diffs = _same_global_batch(config_differences(saved, cfg.to_dict()), old_batch, old_ranks, cfg, world_size)
        if diffs:
            listed = "; ".join(f"{k}: {old!r} -> {new!r}" for k, old, new in diffs[:SHOWN])
            more = f"; ... {len(diffs) - SHOWN} more" if len(diffs) > SHOWN else ""
            raise ResumeError(
                f"cannot resume from {checkpoint}: {run_dir} holds a run started with other settings "
                f"({len(diffs)} differ: {listed}{more}). A resumed run continues the checkpoint's optimiser "
                f"state and schedule, so these would not take effect as written. {advice}. Keys that may "
                f"change on resume: {', '.join(sorted(SAFE_ON_RESUME))}; optim.grad_accum when ranks x grad_accum "
                f"stays {old_batch}.")
    else:
        print(f"warning: {saved_path} is missing, so the settings of the run that wrote {checkpoint.name} cannot "
              f"be compared with this config; resuming anyway", flush=True)
    problems = _shape_problems(state.get("model", {}), model.state_dict())
    if problems:
        raise ResumeError(f"cannot resume from {checkpoint}: its student/heads do not match this config's "
                          f"({'; '.join(problems)}); the checkpoint belongs to a run with another student or other "
                          f"teachers. {advice}.")
