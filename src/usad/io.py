"""Atomic, umask-respecting writes: the one way usad puts files and folders on disk.

A reader never sees half a file: data goes to a temporary name next to the target, then ``os.replace`` moves it
into place (a crash leaves the old file or the new one). Unlike ``tempfile.mkstemp``/``mkdtemp``, which create
owner-only (0600/0700) entries that keep those modes after the rename, the temporaries here are created with
0666/0777 filtered by the process umask, exactly like ``open()`` and ``mkdir`` would: what usad writes is
readable by whoever the user's umask allows.

    atomic_write_text(path, text)            atomic_write_bytes(path, data)
    save_safetensors(path, tensors, meta)    with atomic_path(path) as tmp: np.save(tmp, x)   # any writer
    with atomic_open(path, "wb", fsync=True) as fh: torch.save(obj, fh)
    with atomic_dir(target) as tmp: ...      # a folder filled, then renamed into place
    publish_dir(tmp, target)                 # the same in two steps (a temp folder that other ranks fill)
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import IO, Iterator, Sequence

FILE_MODE = 0o666   # filtered by the umask, as open() does
DIR_MODE = 0o777    # filtered by the umask, as mkdir does


def current_umask() -> int:
    """The process umask (read from /proc on Linux; elsewhere set and restored at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temp_name(target: Path, suffix: str = ".tmp") -> Path:
    return target.parent / f".{target.name}.{secrets.token_hex(6)}{suffix}"


def create_temp_file(target: str | os.PathLike) -> Path:
    """An empty new file next to ``target`` (same folder, so a rename is atomic), mode 0666 & ~umask."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        tmp = _temp_name(target)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file next to {target}")


def make_temp_dir(parent: str | os.PathLike, prefix: str = ".tmp-") -> Path:
    """A new empty folder under ``parent``, mode 0777 & ~umask (``tempfile.mkdtemp`` would give 0700)."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        tmp = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            os.mkdir(tmp, DIR_MODE)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"could not create a temporary folder under {parent}")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``target`` for any writer; on success it replaces ``target``.

    The file's mode is set to 0666 & ~umask before the rename, also when the writer replaced the file with one
    of its own (safetensors' ``save_file`` does, leaving 0600). On error the temporary file is removed and
    ``target`` is left as it was.
    """
    target = Path(target)
    tmp = create_temp_file(target)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE & ~current_umask())
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike, mode: str = "wb", fsync: bool = False,
                encoding: str | None = None) -> Iterator[IO]:
    """``open()`` for writing that lands atomically at ``target`` when the block ends without error."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes a new file; mode must start with 'w', got {mode!r}")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with atomic_path(target) as tmp:
        with open(tmp, mode, encoding=encoding) as fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())


def atomic_write_bytes(target: str | os.PathLike, data: bytes, fsync: bool = False) -> Path:
    with atomic_open(target, "wb", fsync=fsync) as fh:
        fh.write(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike, text: str, fsync: bool = False) -> Path:
    with atomic_open(target, "w", fsync=fsync) as fh:
        fh.write(text)
    return Path(target)


def save_safetensors(target: str | os.PathLike, tensors: dict, metadata: dict[str, str] | None = None) -> Path:
    """``safetensors.torch.save_file`` through a temporary file (tensors: name -> contiguous CPU tensor)."""
    from safetensors.torch import save_file

    with atomic_path(target) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return Path(target)


def publish_dir(tmp: str | os.PathLike, target: str | os.PathLike, files: Sequence[str] | None = None) -> Path:
    """Move the filled folder ``tmp`` (from :func:`make_temp_dir`, next to ``target``) into place.

    A new ``target`` is made by one rename. An existing one is replaced whole: moved aside, ``tmp`` renamed in,
    the old one removed, so a reader sees the old folder or the new one. With ``files``, an existing ``target``
    instead receives just those files of ``tmp``, each by ``os.replace`` in the order given, and keeps the rest
    of what it holds (a checkpoint folder with other files beside the weights).
    """
    tmp, target = Path(tmp), Path(target)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target}: exists and is not a folder; choose another output path")
    if not target.exists():
        os.replace(tmp, target)
    elif files is not None:
        for name in files:
            os.replace(tmp / name, target / name)
    else:
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    return target


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, files: Sequence[str] | None = None) -> Iterator[Path]:
    """Yield a new temporary folder next to ``target`` to fill; on success :func:`publish_dir` moves it into
    place. On error, or for what ``files`` left behind, the temporary folder is removed."""
    target = Path(target)
    tmp = make_temp_dir(target.parent, prefix=f".{target.name}.tmp-")
    try:
        yield tmp
        publish_dir(tmp, target, files)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
