"""Depth up-scaling (docs/method.md, section 4): a deeper student made by stacking copies of trained blocks.

The paper builds the 48-layer XXLarge from the trained 32-layer XLarge with blocks 0-23 then 8-31 (0-based).
``plan[i]`` is the old block copied into new block i; everything outside the blocks (front end, subsampler,
positional encoder) is kept as is. Train further afterwards (stage 2 with ``student.init_from``).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from usad.distill.student import resolve_student_dir
from usad.model import Encoder
from usad.errors import ConfigError


def default_plan(num_layers: int) -> list[int]:
    """The paper's rule generalised: the first 3/4 of the blocks, then the last 3/4 (32 -> 0-23, 8-31 = 48)."""
    cut = (3 * num_layers) // 4
    return list(range(0, cut)) + list(range(num_layers - cut, num_layers))


def parse_plan(spec: str, num_layers: int) -> list[int]:
    """``"0-23,8-31"`` or ``"0,1,1,2"`` (0-based, ranges inclusive) -> block indices; validated against depth."""
    plan: list[int] = []
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b < a:
                    raise ValueError
                plan.extend(range(a, b + 1))
            else:
                plan.append(int(part))
        except ValueError:
            raise ConfigError(f"upscale plan item {part!r} must be an index or an inclusive range like 8-31") \
                from None
    bad = [i for i in plan if not 0 <= i < num_layers]
    if bad:
        raise ConfigError(f"upscale plan {spec!r} names block(s) {sorted(set(bad))}, but the checkpoint has blocks "
                          f"0..{num_layers - 1} (0-based)")
    if not plan:
        raise ConfigError(f"upscale plan {spec!r} is empty")
    return plan


def upscale_encoder(encoder: Encoder, plan: list[int]) -> Encoder:
    """A new Encoder with ``len(plan)`` blocks; block i holds a copy of ``encoder.blocks[plan[i]]``."""
    config = dataclasses.replace(encoder.config, num_layers=len(plan))
    deeper = Encoder(config)
    old = encoder.state_dict()
    new = {}
    for key in deeper.state_dict():
        if key.startswith("blocks."):
            idx, rest = key[len("blocks."):].split(".", 1)
            new[key] = old[f"blocks.{plan[int(idx)]}.{rest}"].clone()
        else:
            new[key] = old[key].clone()
    deeper.load_state_dict(new, strict=True)
    return deeper


def upscale_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, plan: str | list[int] | None = None) -> Path:
    """Read a student (or a run folder with student/), write the up-scaled student to ``dst``."""
    encoder = Encoder.from_pretrained(resolve_student_dir(src))
    n = encoder.config.num_layers
    if plan is None:
        plan_list = default_plan(n)
    elif isinstance(plan, str):
        plan_list = parse_plan(plan, n)
    else:
        plan_list = parse_plan(",".join(str(i) for i in plan), n)
    deeper = upscale_encoder(encoder, plan_list)
    deeper.save_pretrained(dst)
    return Path(dst)
