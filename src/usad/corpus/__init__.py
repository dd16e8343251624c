"""Multi-domain training corpus and HEAR-format probe suite built from registry-installed audio.

Build with ``usad.corpus.build.build(out, size, seed)`` (or ``usad corpus build``); read tasks with ``read_task``
and manifests with ``usad.manifest.read_manifest``.
"""
from .hear import HearExample, HearTask, HearTaskError, read_task

__all__ = ["HearExample", "HearTask", "HearTaskError", "read_task"]
