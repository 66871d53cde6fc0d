"""Mood trends as a one-line sparkline."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅"
GAP = "·"


def sparkline(scores: Sequence[float | None]) -> str:
    """One character per value: a bar for mood 1-5, a dot where there is no entry."""
    out = []
    for score in scores:
        if score is None:
            out.append(GAP)
        else:
            index = min(max(round(score), 1), 5) - 1
            out.append(BARS[index])
    return "".join(out)
