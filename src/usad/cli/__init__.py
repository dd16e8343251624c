"""The `usad` command line: one module per verb (see main.py)."""
from __future__ import annotations


def comma_list(kind=str):
    """argparse ``type=`` for a comma-separated list: ``"1e-4,1e-3"`` -> ``(0.0001, 0.001)``; empty parts dropped."""
    def parse(text: str) -> tuple:
        return tuple(kind(x) for x in text.split(",") if x.strip())
    parse.__name__ = f"comma-separated {kind.__name__}"   # argparse names it in "invalid ... value"
    return parse
