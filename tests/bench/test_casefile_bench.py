"""The case-file benchmark once, tiny: its JSON has its keys and the files are real."""

from __future__ import annotations

import json

import pytest

from bench import casefile


def test_casefile_benchmark_reports_times_and_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    """Two weeks, one repeat: timings present, a PNG and a PDF with pages were produced."""
    result = casefile.main(["--weeks", "2", "--per-day", "1", "--repeat", "1"])
    last = [line for line in capsys.readouterr().out.splitlines() if line.strip()][-1]
    assert json.loads(last) == result
    assert result["mood_entries"] == 14 and result["pdf_pages"] >= 1
    assert result["png_bytes"] > 1000 and result["pdf_bytes"] > 1000
    for key in ("case_file_seconds", "report_pdf_seconds"):
        assert set(result[key]) >= {"best", "median", "worst"}
