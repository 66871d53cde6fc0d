"""Log lines of a tick job's outcome: one shared shape for every job's counts."""

from __future__ import annotations

from collections.abc import Mapping


def nonzero_counts(counts: Mapping[str, int]) -> list[str]:
    """`"what: n"` for each count that is not zero, in the mapping's order.

    >>> nonzero_counts({"reminders sent": 2, "reminders skipped": 0})
    ['reminders sent: 2']
    """
    return [f"{what}: {n}" for what, n in counts.items() if n]
