"""Write a small Python file holding one encoder class for one model, for runners that import a file and build
the class with no arguments (``python -m xares.run FILE TASKS...``, XARES-LLM's ``FILE``).

The class subclasses :class:`usad.adapters.xares.USADEncoder` (X-ARES) or
:class:`usad.adapters.xares_llm.USADLLMEncoder` (XARES-LLM) with the model, layer and device as defaults. Its name
ends in ``Encoder`` and is derived from the model path (X-ARES names its output folders after the class, so two
models should not share a name); it is the only such name in the file, as those runners require.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from usad.errors import ConfigError

KINDS = {"xares": ("usad.adapters.xares", "USADEncoder"), "xares-llm": ("usad.adapters.xares_llm", "USADLLMEncoder")}

TEMPLATE = '''"""{title} encoder for the usad model {model} (written by `usad adapter`).

    {usage}
"""
from {module} import {base} as _UsadBase


class {cls}(_UsadBase):
    def __init__(self, model: str = {model!r}, layer={layer!r}, device: str = {device!r}) -> None:
        super().__init__(model, layer=layer, device=device)
'''


def class_name(model: str) -> str:
    """``runs/demo/stage2/student`` -> ``USADStage2StudentEncoder``; ``org/usad-base`` -> ``USADOrgUsadBaseEncoder``."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", "/".join(Path(model).parts[-2:])) if p]
    return "USAD" + "".join(p[:1].upper() + p[1:] for p in parts) + "Encoder"


def model_spec(model: str) -> str:
    """The student spec (:mod:`usad.encoders`) with local folders made absolute (the file may be run from
    anywhere); hub ids and presets stay."""
    from usad.encoders import STUDENT_KINDS, parse_spec
    from usad.hub import is_hub_id

    spec = parse_spec(model)
    if spec.kind not in STUDENT_KINDS:
        raise ConfigError(f"--model {model}: an adapter runs a usad student; pass its folder, a hub id org/name, "
                          f"preset:NAME or random:DIR")
    if spec.kind == "preset" or is_hub_id(spec.target):
        return model
    path = Path(spec.target)
    if not path.is_dir():
        raise ConfigError(f"--model {model}: no such folder, and not a hub id org/name or preset:NAME")
    return str(path.resolve()) if spec.kind == "student" else f"random:{path.resolve()}"


def write_encoder_file(kind: str, model: str, out: str | os.PathLike, layer: int | str = "last",
                       device: str = "cpu", name: str | None = None) -> Path:
    """Write the encoder file for ``kind`` ("xares" | "xares-llm") and return its path."""
    from usad.encoders import parse_spec
    from usad.io import atomic_write_text

    if kind not in KINDS:
        raise ConfigError(f"--for {kind!r}: choose one of {', '.join(KINDS)}")
    out = Path(out)
    if out.suffix != ".py" or not out.stem.isidentifier():
        raise ConfigError(f"--out {out}: the runners import the file as a module, so it must be a .py file whose "
                          f"name is a Python identifier (e.g. usad_encoder.py)")
    spec = model_spec(model)
    cls = name or class_name(model.split(":", 1)[1] if parse_spec(model).kind == "preset" else model)
    if not (cls.isidentifier() and cls.endswith("Encoder")):
        raise ConfigError(f"--class-name {cls!r}: must be a Python identifier ending in 'Encoder'")
    module, base = KINDS[kind]
    usage = (f"python -m xares.run {out.name} TASK.py ..." if kind == "xares"
             else f"python -m xares_llm.run {out.name} TRAIN_CONFIG EVAL_CONFIG")
    text = TEMPLATE.format(title="X-ARES" if kind == "xares" else "XARES-LLM", model=spec, usage=usage,
                           module=module, base=base, cls=cls, layer=layer, device=device)
    atomic_write_text(out, text)
    return out
