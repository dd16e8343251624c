"""Sparse layer-to-layer mapping between the student and one teacher (docs/method.md, section 2).

With K pairs, student layer floor(k * L_S / K) predicts teacher layer floor(k * L_T / K), k = 1..K
(12-layer student, 24-layer teacher, K = 4: 3->6, 6->12, 9->18, 12->24). Layers are 1-based block indices.
"""
from __future__ import annotations

from dataclasses import dataclass
from usad.errors import ConfigError


@dataclass(frozen=True)
class LayerPair:
    """Student block ``student`` (1-based) predicts teacher layer ``teacher``."""

    student: int
    teacher: int


def sparse_mapping(student_layers: int, teacher_layers: int, k: int = 4) -> list[LayerPair]:
    """The paper's K-pair mapping. Duplicate pairs (when K exceeds a depth) are dropped, order kept."""
    if student_layers < 1 or teacher_layers < 1:
        raise ConfigError(f"layer counts must be >= 1, got student={student_layers}, teacher={teacher_layers}")
    if k < 1:
        raise ConfigError(f"mapping K must be >= 1, got {k}")
    pairs: list[LayerPair] = []
    for i in range(1, k + 1):
        pair = LayerPair(max(1, (i * student_layers) // k), max(1, (i * teacher_layers) // k))
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def parse_mapping(spec: str | list, student_layers: int, teacher_layers: int) -> list[LayerPair]:
    """Explicit mappings: ``"3:6,6:12"`` or ``[[3, 6], [6, 12]]`` (student:teacher), or ``"last"`` (final to final).

    Raises ValueError naming the bad pair when a layer is out of range.
    """
    if isinstance(spec, str):
        if spec.strip() == "last":
            return [LayerPair(student_layers, teacher_layers)]
        items = [p.split(":") for p in spec.replace(" ", "").split(",") if p]
    else:
        items = list(spec)
    pairs = []
    for item in items:
        if len(item) != 2:
            raise ConfigError(f"layer mapping entry {item!r} must be 'student:teacher'")
        s, t = int(item[0]), int(item[1])
        if not 1 <= s <= student_layers:
            raise ConfigError(f"layer mapping {s}:{t}: student layer must be in 1..{student_layers}")
        if not 1 <= t <= teacher_layers:
            raise ConfigError(f"layer mapping {s}:{t}: teacher layer must be in 1..{teacher_layers}")
        pairs.append(LayerPair(s, t))
    if not pairs:
        raise ConfigError(f"layer mapping {spec!r} is empty")
    return pairs
