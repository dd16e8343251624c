"""Teacher registry: names -> factories, plus what each teacher needs to load on this machine.

Built-in names: whisper-base, crepe-full, crepe-tiny, basic-pitch, pesto, resemblyzer, birdnet, fbank (the
student's own log-mel input as a spectral target),
``hf:<dir-or-hub-id>`` (transformers audio models) and ``test:<dim>x<layers>@<rate>`` (random, unit tests only).
Add your own with ``register_teacher(name, factory)`` (see examples/custom_teacher.py).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import torch

from usad.errors import ConfigError

from .assets import TeacherUnavailable
from .base import Teacher, TeacherInfo


@dataclass
class TeacherEntry:
    """factory(**kw) -> Teacher; info() -> TeacherInfo without loading weights (None if unknown until loaded);
    check() raises TeacherUnavailable with an actionable message when the teacher cannot load here."""

    factory: Callable[..., Teacher]
    info: Callable[..., TeacherInfo | None] | None = None
    check: Callable[[], None] | None = None


_REGISTRY: dict[str, TeacherEntry] = {}


def _lazy(path: str) -> Callable:
    """'module:attr' -> a callable that imports the module only when called (keeps `import usad` fast)."""
    module, attr = path.split(":")

    def call(*args, **kw):
        return getattr(importlib.import_module(f"usad.teachers.{module}"), attr)(*args, **kw)

    return call


def register_teacher(name: str, factory: Callable[..., Teacher], *, info: Callable[[], TeacherInfo] | None = None,
                     check: Callable[[], None] | None = None, overwrite: bool = False) -> None:
    """Make ``load_teacher(name)`` call ``factory(**kw)``. ``info``/``check`` feed ``usad teachers``."""
    if not name or name.startswith(("hf:", "test:")):
        raise ValueError(f"teacher name {name!r} is empty or uses a reserved prefix (hf:, test:)")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"teacher {name!r} is already registered; pass overwrite=True to replace it")
    _REGISTRY[name] = TeacherEntry(factory, info, check)


def _builtin(name: str, module: str, cls: str, **fixed) -> None:
    _REGISTRY[name] = TeacherEntry(
        factory=lambda _m=module, _c=cls, _f=fixed, **kw: _lazy(f"{_m}:{_c}")(**_f, **kw),
        info=lambda _m=module, _f=fixed, **kw: _lazy(f"{_m}:static_info")(**_f, **kw),
        check=lambda _m=module, _f=fixed: _lazy(f"{_m}:check_available")(**_f),
    )


_builtin("whisper-base", "whisper.teacher", "WhisperBaseTeacher")
_builtin("crepe-full", "crepe", "CrepeTeacher", size="full")
_builtin("crepe-tiny", "crepe", "CrepeTeacher", size="tiny")
_builtin("basic-pitch", "basic_pitch", "BasicPitchTeacher")
_builtin("pesto", "pesto", "PestoTeacher")
_builtin("resemblyzer", "resemblyzer", "ResemblyzerTeacher")
_builtin("birdnet", "birdnet", "BirdNetTeacher")
_builtin("fbank", "fbank", "FbankTeacher")


def known_teachers() -> list[str]:
    return list(_REGISTRY)


def load_teacher(name: str, device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
                 **kw) -> Teacher:
    """Build a frozen teacher by name on ``device``. ``dtype`` (e.g. torch.bfloat16) applies to its torch
    weights where the model allows; front ends stay float32. Raises TeacherUnavailable naming what to install."""
    if name.startswith("test:"):
        from .random_teacher import RandomTestTeacher

        teacher = RandomTestTeacher(name)
    elif name.startswith("hf:"):
        from .hf import HFTeacher

        teacher = HFTeacher(name[3:], **kw)
    elif name in _REGISTRY:
        teacher = _REGISTRY[name].factory(**kw)
    else:
        raise ConfigError(f"unknown teacher {name!r}; known: {', '.join(known_teachers())}, hf:<dir-or-hub-id>, "
                          "test:<dim>x<layers>@<rate>; or register_teacher(name, factory)")
    if not isinstance(teacher, Teacher):
        raise TypeError(f"factory for teacher {name!r} returned {type(teacher).__name__}, not a usad Teacher")
    if dtype is not None and getattr(teacher, "supports_dtype", True):
        teacher = teacher.to(dtype=dtype)
    return teacher.to(device).freeze()


def teacher_info(name: str, **kw) -> TeacherInfo | None:
    """What a teacher declares, without loading its weights (None when only loading can tell, e.g. hf:).
    Pass the same keyword arguments as to ``load_teacher`` (e.g. hop_ms=20) to get the matching declaration."""
    if name.startswith("test:"):
        from .random_teacher import test_info

        return test_info(name)
    entry = _REGISTRY.get(name)
    if entry is None or entry.info is None:
        return None
    return entry.info(**kw)


def check_teacher(name: str) -> tuple[bool, str]:
    """(ok, reason): whether ``name`` can load here, and if not what to install."""
    entry = _REGISTRY.get(name)
    try:
        if name.startswith("hf:"):
            from .hf import check_available

            check_available(name[3:])
        elif entry is not None and entry.check is not None:
            entry.check()
        elif entry is None and not name.startswith("test:"):
            return False, f"unknown teacher {name!r}"
    except TeacherUnavailable as e:
        return False, str(e)
    return True, "ok"


def available_teachers() -> list[tuple[str, bool, str]]:
    """[(name, ok, reason)] for every registered teacher."""
    return [(name, *check_teacher(name)) for name in known_teachers()]
