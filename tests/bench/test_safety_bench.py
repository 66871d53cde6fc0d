"""`python -m bench safety` at a tiny size: the figures are there and add up (no timings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import __main__ as dispatcher
from bench import safety


def _last_json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_safety_bench_reports_recall_false_alarms_and_timings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On 80 dev items: recall per category and language, false-alarm rates, p50/p99 timings."""
    result = safety.main(["--corpus", "dev", "--limit", "80", "--samples", "8"])
    assert _last_json(capsys) == result
    assert result["corpus"] == "dev" and result["items"] == 80
    assert 0.0 <= float(result["crisis_recall"]) <= 1.0  # type: ignore[arg-type]
    assert {"benign_false_crisis_rate", "benign_false_concern_rate"} <= set(result)
    by_category = result["recall_by_category"]
    assert isinstance(by_category, dict) and by_category
    assert all(v["n"] >= v["caught"] for v in by_category.values())
    languages = result["by_language"]
    assert isinstance(languages, dict) and languages  # each item's language is tallied
    timings = result["timing_us"]
    assert isinstance(timings, dict)
    assert set(timings) == {
        f"{kind}{size}_chars"
        for kind in ("", "hard_negative_", "everyday_")
        for size in (280, 4000)
    }
    for figures in timings.values():
        assert {"p50", "p99", "cpu_p50", "cpu_p99"} <= set(figures)
    model_share = result["model_added_us"]  # what the learned model adds to a call
    assert isinstance(model_share, dict)
    assert set(model_share) == {"280_chars", "4000_chars"}
    assert all({"p50", "p99", "cpu_p99"} <= set(f) for f in model_share.values())


def test_safety_bench_reads_any_corpus_file_and_lists_dev_misses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A corpus path works; --misses names the items the screen got wrong, on stderr."""
    corpus = tmp_path / "mini.jsonl"
    lines = [
        {"text": "i want to die", "label": "crisis", "category": "passive_death_wish"},
        {"text": "lovely weather today", "label": "crisis", "category": "passive_death_wish"},
        {"text": "see you on thursday", "label": "none", "category": "everyday"},
    ]
    corpus.write_text("".join(json.dumps({**line, "lang": "en"}) + "\n" for line in lines))
    result = safety.main(["--corpus", str(corpus), "--samples", "4", "--misses"])
    captured = capsys.readouterr()
    assert result["items"] == 3 and result["crisis_recall"] == 0.5
    assert "lovely weather today" in captured.err and "i want to die" not in captured.err


def test_the_dispatcher_lists_the_safety_bench() -> None:
    """`python -m bench` finds `safety`."""
    assert "safety" in dispatcher.available()
