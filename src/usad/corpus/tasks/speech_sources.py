"""Real speech items shared by the speech tasks and the training corpus, as ``Clip`` plans (no decoding)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..clip import Clip, safe_id
from ..context import BuildContext
from ..decode import read_file, trim_silence
from ..sources import asterisk, fillets, hedgewars

MAX_SECONDS = 10.0
LEAD_IN_S = 0.1     # silence kept before the first loud frame when a clip is cropped


@dataclass
class Utterance:
    clip: Clip
    language: str
    speaker: str      # globally unique speaker name
    content: str      # content id shared by parallel recordings (prompt id, line id, word)
    category: str


def _reader(path, max_s=MAX_SECONDS):
    def render() -> np.ndarray:
        return read_file(path)[: int(max_s * 16000)]
    return render


def _cropped_reader(path, max_s: float):
    def render() -> np.ndarray:
        wav = read_file(path)
        start, _ = trim_silence(wav)
        start = max(0, start - int(LEAD_IN_S * 16000))
        return wav[start: start + int(max_s * 16000)]
    return render


def cropped(u: Utterance, max_s: float) -> Utterance:
    """The utterance with its audio cut to at most ``max_s`` seconds from just before its first loud frame."""
    return replace(u, clip=replace(u.clip, render=_cropped_reader(u.clip.path, max_s)))


def asterisk_utterances(ctx: BuildContext, needed_by: str) -> list[Utterance]:
    root = ctx.root("asterisk", needed_by)
    if root is None:
        return []
    out = []
    for p in asterisk.list_prompts(root):
        key = f"asterisk:{p.path.parent.relative_to(root).parts[0]}/{p.prompt_id}"
        clip = Clip(safe_id(f"ast-{p.language}-{p.prompt_id.replace('/', '-')}"), _reader(p.path), "asterisk",
                    False, key, group=p.prompt_id, domain="speech", path=p.path,
                    labels={"language": p.language, "speaker": f"asterisk-{p.voice}"})
        out.append(Utterance(clip, p.language, f"asterisk-{p.voice}", p.prompt_id, p.category))
    return out


def fillets_utterances(ctx: BuildContext, needed_by: str) -> list[Utterance]:
    root = ctx.root("fillets", needed_by)
    if root is None:
        return []
    out = []
    for ln in fillets.list_lines(root):
        spk = f"fillets-{ln.language}-{ln.character}"
        content = fillets_content(ln)
        clip = Clip(safe_id(f"fil-{ln.language}-{ln.line_id.replace('/', '-')}"), _reader(ln.path), "fillets",
                    False, fillets_key(ln), group=content, domain="speech", path=ln.path,
                    labels={"language": ln.language, "speaker": spk})
        out.append(Utterance(clip, ln.language, spk, content, "dialogue"))
    return out


def fillets_content(line: fillets.Line) -> str:
    """What a Fish Fillets line says, shared by its recordings: the file stem (``k1-pap-kruci``), the same in
    every language and in the levels that reuse a line (cabin1 and cabin2 hold byte-identical copies)."""
    return Path(line.line_id).name


def fillets_key(line: fillets.Line) -> str:
    """The source key of one Fish Fillets recording (shared by every task and the training corpus); copies of a
    line in two levels share it, so excluding one from training excludes both."""
    return f"fillets:{line.language}/{fillets_content(line)}"


def hedgewars_utterances(ctx: BuildContext, needed_by: str) -> list[Utterance]:
    root = ctx.root("hedgewars", needed_by)
    if root is None:
        return []
    out = []
    for v in hedgewars.list_voices(root):
        spk = f"hedgewars-{v.pack}"
        clip = Clip(safe_id(f"hwv-{v.pack}-{v.word}"), _reader(v.path), "hedgewars", False,
                    f"hedgewars:voices/{v.pack}/{v.word}", group=v.word.lower(), domain="speech", path=v.path,
                    labels={"speaker": spk})
        out.append(Utterance(clip, "", spk, v.word.lower(), "voice"))
    return out
