"""Evaluation of frozen encoders: probing on HEAR-format suites (``run_probe_suite``) and LLM-based evaluation
(``usad.eval.llm``). Encoders are named and loaded by ``usad.encoders``. Evaluation never imports training code."""
from __future__ import annotations

from usad.eval.protocol import ProbeProtocol

__all__ = ["ProbeProtocol", "run_probe_suite"]


def __getattr__(name: str):
    if name == "run_probe_suite":
        from usad.eval.suite import run_probe_suite

        return run_probe_suite
    raise AttributeError(name)
