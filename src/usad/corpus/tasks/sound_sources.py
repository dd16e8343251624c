"""Real sound effects (hedgewars, Fish Fillets, desktop UI sounds) as labelled ``Clip`` plans.

Byte-identical files (freedesktop links ``dialog-error`` -> ``dialog-warning``, hedgewars and oxygen copies) are
one clip: its key is the file's content hash, so a test copy can never reach training under another name; a
sound whose copies carry different class names gets no label. Groups join the variants of one sound (numbered
copies, ``-In``/``-Out``, ``-Long``/``-Short``, the hedgewars note set) so that a split never cuts through one.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..clip import Clip, safe_id
from ..context import BuildContext
from ..sources import fillets, hedgewars, ui_sounds
from .speech_sources import _reader

FILLETS_CLASSES = [(r"impact", "impact"), (r"bubles", "water"), (r"-x-click", "click"), (r"-x-motor", "engine")]
_VARIANT_WORDS = {"long", "short", "very", "serious", "critical", "not", "stop", "in", "out", "on", "off", "up",
                  "down", "idle"}


@dataclass
class Effect:
    clip: Clip
    label: str | None   # None: usable for training, not for the probe tasks


def sound_group(source: str, stem: str) -> str:
    """The variants of one sound form one group: ``Droplet1``/``Droplet2``, ``Log-In``/``Log-Out-Long``,
    ``hell_growl``/``hell_ow``, and the hedgewars notes ``1C`` .. ``9D`` (one instrument)."""
    low = stem.lower()
    if source == "hw" and re.fullmatch(r"[1-9][a-g]", low):
        return "hw:notes"
    low = re.sub(r"[_-]?[0-9]+$", "", low).replace("login", "log-in").replace("logout", "log-out")
    parts = [p for p in re.split(r"[-_]", low) if p]
    while len(parts) > 1 and parts[-1] in _VARIANT_WORDS:
        parts.pop()
    if source == "hw" and parts and parts[0] == "hell":
        parts = ["hell"]
    return f"{source}:{'-'.join(parts)}"


@lru_cache(maxsize=4096)
def _content_key(path: Path) -> str:
    return "sfx:" + hashlib.sha256(path.read_bytes()).hexdigest()[:20]


def real_effects(ctx: BuildContext, needed_by: str) -> list[Effect]:
    """Every distinct real effect (deduplicated by content), sorted by id; labelled where a rule names it."""
    found: list[tuple[str, Path, str, str, str | None]] = []    # (id, path, source, group, label)
    root = ctx.root("hedgewars", needed_by)
    if root is not None:
        for p in hedgewars.list_effects(root):
            found.append((safe_id(f"hw-{p.stem}"), p, "hedgewars", sound_group("hw", p.stem),
                          hedgewars.sfx_class(p.stem)))
    root = ctx.root("fillets", needed_by)
    if root is not None:
        for p in fillets.list_effects(root):
            label = next((lab for pat, lab in FILLETS_CLASSES if re.search(pat, p.stem)), None)
            rel = p.relative_to(root).with_suffix("").as_posix()
            found.append((safe_id(f"fil-{rel.replace('/', '-')}"), p, "fillets", sound_group("fil", p.stem), label))
    root = ctx.root("ui_sounds", needed_by)
    if root is not None:
        for p in ui_sounds.list_sounds(root):
            found.append((safe_id(f"ui-{p.stem}"), p, "freedesktop" if "freedesktop" in str(p) else "oxygen",
                          sound_group("ui", p.stem), ui_sounds.ui_class(p.stem)))
    by_content: dict[str, list[tuple[str, Path, str, str, str | None]]] = {}
    for item in sorted(found):
        try:
            key = _content_key(item[1].resolve())
        except OSError:
            continue
        by_content.setdefault(key, []).append(item)
    out = []
    for key, copies in sorted(by_content.items(), key=lambda kv: kv[1][0][0]):
        cid, path, source, group, _ = copies[0]
        labels = {c[4] for c in copies} - {None}
        label = labels.pop() if len(labels) == 1 else None
        clip = Clip(cid, _reader(path), source, False, key, group=group, domain="sound", path=path,
                    labels={"copies": [c[1].name for c in copies[1:]]} if len(copies) > 1 else {})
        out.append(Effect(clip, label))
    return sorted(out, key=lambda e: e.clip.id)


def labelled_effects(ctx: BuildContext, needed_by: str, min_groups: int) -> list[Effect]:
    """Labelled real effects of the classes that have at least ``min_groups`` sound groups."""
    real = [e for e in real_effects(ctx, needed_by) if e.label is not None]
    groups: dict[str, set[str]] = {}
    for e in real:
        groups.setdefault(e.label, set()).add(e.clip.group)
    return [e for e in real if len(groups[e.label]) >= min_groups]
