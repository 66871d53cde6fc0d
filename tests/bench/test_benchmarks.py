"""Each benchmark once at a tiny N: the JSON has its keys and the correctness figures hold.

No timing assertions: the figures depend on the machine. Latency 0 and short caps keep the
whole file to a few tens of seconds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import __main__ as dispatcher
from bench import answers, core_answers, fanout, memory, open_checkins, scheduler
from bench.harness import busiest_window

N = 20


def last_json_line(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    data: dict[str, Any] = json.loads(lines[-1])
    return data


@pytest.mark.parametrize("platform", ["slack", "discord"])
def test_fanout_delivers_each_student_once_within_the_limits(
    platform: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every student gets exactly one prompt, no 429, and both references report beside ours."""
    result = fanout.main(
        [
            "--platform",
            platform,
            "--students",
            str(N),
            "--latency",
            "0",
            "--reference-timeout",
            "5",
        ]
    )
    assert last_json_line(capsys) == result
    for key in (
        "seconds",
        "bound_seconds",
        "ratio_to_bound",
        "http_429",
        "delivered",
        "duplicates",
        "missing",
        "core_prepare_seconds",
    ):
        assert key in result
    assert (result["delivered"], result["duplicates"], result["missing"]) == (N, 0, 0)
    assert result["http_429"] == 0 and result["checkins_opened"] == N
    busiest = result["busiest_window"]
    assert 0 < busiest["requests"] <= busiest["limit"]
    for reference in ("sequential", "all_at_once"):
        assert {"seconds", "http_429", "missing", "duplicates"} <= set(result[reference])


def test_busiest_window_counts_any_window_start() -> None:
    """Windows start anywhere and are half-open: 0.0 and 1.0 are never in the same second."""
    assert busiest_window([2.5, 0.0, 0.5, 0.99, 1.0, 1.2], 1.0) == 4  # 0.5 .. 1.2, unsorted
    assert busiest_window([0.0, 1.0], 1.0) == 1
    assert busiest_window([], 1.0) == 0


def test_fanout_first_contact_opens_the_dms(capsys: pytest.CaptureFixture[str]) -> None:
    """With no DM channel known yet, Discord DMs are opened and every prompt still arrives once."""
    argv = ["--platform", "discord", "--students", str(N), "--latency", "0"]
    result = fanout.main([*argv, "--first-contact", "--no-reference"])
    assert result["first_contact"] is True
    assert (result["delivered"], result["duplicates"], result["missing"]) == (N, 0, 0)


def test_scheduler_opens_everyone_due_in_one_minute(capsys: pytest.CaptureFixture[str]) -> None:
    """Students in 10 zones due at one instant: one tick job opens all of them, none missed."""
    result = scheduler.main(["--students", str(N), "--zones", "10", "--reference-timeout", "10"])
    assert last_json_line(capsys) == result
    assert result["missed"] == 0 and result["checkins_opened"] == N
    assert result["occurrences"] == 10 and result["jobs"] <= 100
    reference = result["per_student_jobs"]
    assert reference["jobs"] == N
    assert {"executed", "missed", "never_ran"} <= set(reference)


@pytest.mark.parametrize("platform", ["slack", "discord"])
def test_answers_are_all_acknowledged_and_stored(
    platform: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every button press through the adapter's inbound path is acknowledged and stored."""
    result = answers.main(
        ["--platform", platform, "--students", str(N), "--concurrency", "4", "--timeout", "30"]
    )
    assert last_json_line(capsys) == result
    for key in ("answers_per_second", "p50_ms", "p99_ms", "lost", "cpu_ratio_to_floor"):
        assert key in result
    assert result["lost"] == 0 and result["failures"] == 0 and result["acknowledged"] == N
    assert result["limits"] == "on" and result["cpu_ratio_to_floor"] > 0
    if platform == "slack":
        # Each pressed check-in replaced once, through its response_url: one live copy.
        assert (result["double_checkins"], result["unanswered"]) == (0, 0)
        assert result["chat_update_calls"] == 0 and result["p99_update_seconds"] > 0


def test_memory_reports_bytes_per_student_and_startup(capsys: pytest.CaptureFixture[str]) -> None:
    """Fresh processes with and without students give per-student bytes and start-up time."""
    result = memory.main(["--students", str(N), "--repeat", "1"])
    assert last_json_line(capsys) == result
    assert {"bytes_per_student", "startup_seconds", "rss_mib_full"} <= set(result)
    assert result["checkins_opened"] == N


def test_open_checkins_is_idempotent(capsys: pytest.CaptureFixture[str]) -> None:
    """Firing the occurrence twice writes each check-in and prompt once."""
    result = open_checkins.main(["--students", str(N)])
    assert last_json_line(capsys) == result
    assert result["checkins"] == N and result["outbox_rows"] == N


def test_dispatcher_lists_these_benchmarks() -> None:
    """`python -m bench` finds every benchmark module of this file."""
    names = set(dispatcher.available())
    assert {"fanout", "scheduler", "answers", "memory", "open_checkins"} <= names


def test_core_answers_stores_every_answer_at_every_batch_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The core-only bench answers each student once per batch size, and says so in JSON."""
    result = core_answers.main(["--students", str(N), "--batch", "1", "--batch", "7"])
    assert last_json_line(capsys) == result
    for size in (1, 7):
        figures = result[f"batch_{size}"]
        assert isinstance(figures, dict)
        assert figures["stored"] == N
        assert {"answers_per_second", "cpu_ms_per_answer"} <= set(figures)


def test_answers_through_two_slack_receiver_processes(capsys: pytest.CaptureFixture[str]) -> None:
    """With SLACK_HTTP_WORKERS=2 both processes serve and every answer is stored once."""
    result = answers.main(["--platform", "slack", "--students", str(N), "--workers", "2"])
    assert last_json_line(capsys) == result
    assert result["workers"] == 2 and result["receivers"] == 2
    assert (result["acknowledged"], result["lost"], result["failures"]) == (N, 0, 0)


def test_report_bench_times_the_digest_and_the_html_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A tiny term: the digest queues staff and mentor digests and the HTML report is written."""
    from bench import report

    result = report.main(["--students", "60", "--weeks", "3", "--database-url", ""])
    assert last_json_line(capsys) == result
    figures = result["sqlite"]
    for key in ("seed_seconds", "figures_seconds", "digest_tick_seconds", "html_seconds"):
        assert figures[key] >= 0
    assert figures["html_bytes"] > 10_000 and figures["digests_queued"] >= 1
    for key in ("figures_peak_mib", "digest_tick_peak_mib", "html_peak_mib"):
        assert figures[key] > 0
