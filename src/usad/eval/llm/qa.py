"""Question/answer items built from a HEAR-format probe suite (scene tasks; one short text answer each)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_TEMPLATES = (  # (words in the task name, question)
    (("language", "lang"), "What language is spoken?"),
    (("speaker", "voice", "character"), "Who is speaking?"),
    (("emotion",), "What emotion does the speaker express?"),
    (("digit", "number"), "Which number is said?"),
    (("word", "keyword", "command"), "Which word is said?"),
    (("pitch", "note"), "What is the pitch?"),
    (("instrument",), "Which instrument is playing?"),
    (("genre", "style"), "What is the music genre?"),
    (("composer",), "Who composed this music?"),
)


@dataclass
class QAItem:
    task: str
    path: Path
    question: str
    answer: str


def question_for(task_name: str, metadata: dict, labels: list[str], max_options: int = 20) -> str:
    """The task's ``question`` metadata field, else a template by task name, plus the options when few."""
    q = metadata.get("question")
    if not q:
        low = task_name.lower()
        q = next((text for words, text in _TEMPLATES if any(w in low for w in words)), None)
        q = q or f"Which {task_name.replace('_', ' ')} class does this audio belong to?"
    if len(labels) <= max_options:
        q = f"{q} Answer with one of: {', '.join(labels)}."
    return q


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, single spaces: the form exact match compares."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def build_qa(suite_dir: str | Path, tasks: list[str] | None = None, log=None) -> dict[str, list[QAItem]]:
    """split ("train" | "valid" | "test") -> items over every scene task of the suite (event tasks are skipped:
    their answers are not short texts). Multilabel answers are the sorted labels joined by ", "."""
    from usad.corpus.hear import read_task
    from usad.eval.suite import find_tasks

    out: dict[str, list[QAItem]] = {"train": [], "valid": [], "test": []}
    for d in find_tasks(suite_dir, tasks):
        ht = read_task(d)
        if ht.embedding_type != "scene" or not {"train", "valid", "test"} <= set(ht.splits):
            if log:
                log(f"[llm-eval] skipping {ht.name}: only scene tasks with train/valid/test splits become QA")
            continue
        q = question_for(ht.name, ht.metadata, ht.vocabulary)
        for split in out:
            for ex in ht.splits[split]:
                out[split].append(QAItem(ht.name, ex.path, q, ", ".join(sorted(str(l) for l in ex.labels))))
    if not out["train"]:
        raise ValueError(f"suite {suite_dir}: no scene task to phrase as questions")
    return out
