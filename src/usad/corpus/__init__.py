"""Multi-domain training corpus and HEAR-format probe suite built from registry-installed audio.

Build with ``usad.corpus.build.build(out, size, seed)`` (or ``usad corpus build``); read tasks with ``read_task``.
"""
from .hear import HearExample, HearTask, HearTaskError, read_task
from .manifest import read_manifest

__all__ = ["HearExample", "HearTask", "HearTaskError", "read_task", "read_manifest"]
