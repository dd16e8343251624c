"""Real sound effects (hedgewars, Fish Fillets, desktop UI sounds) as labelled ``Clip`` plans."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..clip import Clip, safe_id
from ..context import BuildContext
from ..sources import fillets, hedgewars, ui_sounds
from .speech_sources import _reader

FILLETS_CLASSES = [(r"impact", "impact"), (r"bubles", "water")]


@dataclass
class Effect:
    clip: Clip
    label: str | None   # None: usable for training, not for the probe task


def _group(source: str, stem: str) -> str:
    """Numbered variants of one sound (Droplet1, Droplet2) form one group."""
    return f"{source}:{re.sub(r'[_-]?[0-9]+$', '', stem.lower())}"


def real_effects(ctx: BuildContext, needed_by: str) -> list[Effect]:
    out: list[Effect] = []
    root = ctx.root("hedgewars", needed_by)
    if root is not None:
        for p in hedgewars.list_effects(root):
            clip = Clip(safe_id(f"hw-{p.stem}"), _reader(p), "hedgewars", False, f"hedgewars:Sounds/{p.name}",
                        group=_group("hw", p.stem), domain="sound", path=p)
            out.append(Effect(clip, hedgewars.sfx_class(p.stem)))
    root = ctx.root("fillets", needed_by)
    if root is not None:
        for p in fillets.list_effects(root):
            label = next((lab for pat, lab in FILLETS_CLASSES if re.search(pat, p.stem)), None)
            rel = p.relative_to(root).with_suffix("").as_posix()
            clip = Clip(safe_id(f"fil-{rel.replace('/', '-')}"), _reader(p), "fillets", False, f"fillets:{rel}",
                        group=_group("fil", p.stem), domain="sound", path=p)
            out.append(Effect(clip, label))
    root = ctx.root("ui_sounds", needed_by)
    if root is not None:
        for p in ui_sounds.list_sounds(root):
            clip = Clip(safe_id(f"ui-{p.stem}"), _reader(p), p.parent.name if "freedesktop" in str(p) else "oxygen",
                        False, f"ui:{p.name}", group=_group("ui", p.stem), domain="sound", path=p)
            lab = ui_sounds.ui_class(p.stem)
            out.append(Effect(clip, lab))
    return out
