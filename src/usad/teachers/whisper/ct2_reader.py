"""A short reader for CTranslate2's ``model.bin`` format (enough to pull Whisper's encoder weights into PyTorch).

Layout (little endian): uint32 version; [version >= 2] spec name (uint16 length incl. NUL, bytes) and uint32
revision; uint32 variable count; per variable: name, uint8 rank, rank x uint32 dims, uint8 dtype, uint32 byte count,
raw data; [version >= 3] uint32 alias count and (alias, target) name pairs.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


class CT2FormatError(ValueError):
    pass


def _u(f: BinaryIO, fmt: str):
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise CT2FormatError(f"{getattr(f, 'name', 'model.bin')}: file ends early (truncated download or join?)")
    return struct.unpack("<" + fmt, data)[0]


def _string(f: BinaryIO) -> str:
    n = _u(f, "H")
    return f.read(n).rstrip(b"\0").decode("utf-8")


def read_ct2(path: str | Path, keep=lambda name: True) -> tuple[str, dict[str, torch.Tensor]]:
    """-> (spec name, {variable name: tensor}) for the variables ``keep(name)`` accepts (others are skipped).

    float16 data stays float16; aliases are resolved to the same tensors.
    """
    tensors: dict[str, torch.Tensor] = {}
    with open(path, "rb") as f:
        version = _u(f, "I")
        if version > 6:
            raise CT2FormatError(f"{path}: CTranslate2 model version {version} is newer than this reader (<= 6)")
        spec = ""
        if version >= 2:
            spec = _string(f)
            _u(f, "I")  # spec revision
        for _ in range(_u(f, "I")):
            name = _string(f)
            rank = _u(f, "B")
            dims = [_u(f, "I") for _ in range(rank)]
            if version >= 4:
                dtype_id, nbytes = _u(f, "B"), _u(f, "I")
            else:
                raise CT2FormatError(f"{path}: model version {version} predates typed variables; reconvert it")
            if not keep(name):
                f.seek(nbytes, 1)
                continue
            raw = f.read(nbytes)
            dtype = _DTYPES.get(dtype_id)
            if dtype is None:
                raise CT2FormatError(f"{path}: variable {name!r} has unknown dtype id {dtype_id}")
            if dtype == "bfloat16":
                t = torch.frombuffer(bytearray(raw), dtype=torch.bfloat16)
            else:
                t = torch.from_numpy(np.frombuffer(raw, dtype=dtype).copy())
            tensors[name] = t.reshape(dims) if dims else t.reshape(())
        if version >= 3:
            for _ in range(_u(f, "I")):
                alias, target = _string(f), _string(f)
                if target in tensors and keep(alias):
                    tensors[alias] = tensors[target]
    return spec, tensors
