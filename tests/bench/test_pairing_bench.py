"""The pairing benchmark once at a tiny N: its JSON has its keys and the correctness figures hold.

No timing assertions: the figures depend on the machine.
"""

from __future__ import annotations

import json

import pytest

from bench import __main__ as dispatcher
from bench import pairing as pairing_bench


def test_pairing_groups_everyone_and_breaks_no_avoid_list(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """At N=40: everyone placed (or left out by their own list), no avoided pair together."""
    result = pairing_bench.main(["--students", "40"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert json.loads(lines[-1]) == result
    realistic = result["realistic"]
    adversarial = result["adversarial"]
    assert isinstance(realistic, dict) and isinstance(adversarial, dict)
    assert set(realistic) == set(adversarial) == {"10", "20", "40"}
    for n, run in realistic.items():
        assert run["avoids_broken"] == 0
        assert run["placed"] + run["left_out"] == int(n)
    assert realistic["40"]["repeats"] == 0  # forty people have plenty of new partners
    for n, run in adversarial.items():
        assert run["placed"] == int(n) and run["cost"] > 0
    assert "realistic_growth_half_to_full" in result
    assert "pairing" in dispatcher.available()
