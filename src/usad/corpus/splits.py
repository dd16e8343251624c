"""Deterministic train/valid/test splits by group (speaker, prompt, track, score, instrument) so nothing leaks."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from .clip import stable_hash

SPLITS = ("train", "valid", "test")


def split_groups(groups: Iterable[str], seed: int, valid: float = 0.15, test: float = 0.15) -> dict[str, str]:
    """Map each distinct group to a split. Groups are ordered by a seeded hash and cut by the fractions; with
    three or more groups every split gets at least one."""
    uniq = sorted(set(groups), key=lambda g: (stable_hash(seed, "split", g), g))
    n = len(uniq)
    n_test = max(1, round(n * test)) if n >= 3 else (1 if n == 2 else 0)
    n_valid = max(1, round(n * valid)) if n >= 3 else 0
    out = {}
    for i, g in enumerate(uniq):
        out[g] = "test" if i < n_test else ("valid" if i < n_test + n_valid else "train")
    return out


def split_within_classes(items: list[tuple[str, str]], seed: int, valid: float = 0.15,
                         test: float = 0.15) -> dict[tuple[str, str], str]:
    """``items`` are (class, group) pairs: split the groups of each class separately, so every class reaches every
    split (speaker ID: each speaker's utterances are split, grouped by utterance content)."""
    by_class: dict[str, list[str]] = defaultdict(list)
    for cls, grp in items:
        by_class[cls].append(grp)
    out = {}
    for cls, grps in by_class.items():
        for g, s in split_groups(grps, stable_hash(seed, cls), valid, test).items():
            out[(cls, g)] = s
    return out


def take_balanced(items: list, key, per_class: int | None, seed: int, ident=lambda it: it.clip.id) -> list:
    """At most ``per_class`` items per ``key(item)``, chosen by a seeded hash of ``ident(item)`` (a stable id)."""
    if per_class is None:
        return list(items)
    by: dict[str, list] = defaultdict(list)
    for it in items:
        by[key(it)].append(it)
    out = []
    for k in sorted(by):
        ranked = sorted(by[k], key=lambda it: stable_hash(seed, "take", ident(it)))
        out += ranked[:per_class]
    return out
