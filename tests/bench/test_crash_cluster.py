"""The crash and cluster benchmarks at tiny N, on the PostgreSQL server of the test run.

Each benchmark gets a database of its own on that server (`mentorbot_crash_test_<pid>`,
`mentorbot_cluster_test_<pid>`: engineers sharing the server may run this at the same time),
created and dropped by the benchmark; the test database itself is never touched. Skipped
without MENTORBOT_TEST_DATABASE_URL; with CI=true an unreachable server fails. Only outcomes
are asserted, never timings.
"""

from __future__ import annotations

import os

import pytest

from bench import cluster, crash
from bench.harness import database_url_on, postgres_problem

PG_ENV = "MENTORBOT_TEST_DATABASE_URL"


@pytest.fixture(scope="module")
def server_url() -> str:
    """The test run's PostgreSQL URL (its server is what matters here)."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    problem = postgres_problem(url)
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    return url


def test_crash_loses_no_prompt_and_no_acknowledged_answer(server_url: str) -> None:
    """Killed once mid-run: every student gets a prompt, every acked answer is stored."""
    url = database_url_on(server_url, f"mentorbot_crash_test_{os.getpid()}")
    result = crash.main(["--students", "10", "--kills", "1", "--seed", "7", "--database-url", url])
    assert result["kills"] == 1
    assert result["missing"] == 0
    assert result["duplicates_unexplained"] == 0
    assert result["answers_acked"] == 10
    assert result["answers_lost"] == 0


@pytest.mark.parametrize("budget", ["owner", "postgres"])
def test_cluster_of_three_survives_its_owner_being_killed(server_url: str, budget: str) -> None:
    """Three instances, one token per platform, the owner SIGKILLed mid-burst: nothing lost.

    With either budget: all sending by the owner, or every instance through PostgreSQL.
    """
    url = database_url_on(server_url, f"mentorbot_cluster_test_{os.getpid()}")
    result = cluster.main(
        [
            *("--students", "8", "--instances", "3", "--kill", "1"),
            *("--database-url", url, "--budget", budget),
        ]
    )
    assert result["instances"] == 3
    assert result["budget"] == budget
    kills = result["kills"]
    assert isinstance(kills, list)
    assert kills[0]["new_owner"] not in (None, kills[0]["killed"])
    assert result["missing"] == 0
    assert result["duplicates_unexplained"] == 0
    assert result["http_429"] == 0
    assert result["double_responses"] == 0
    assert result["lost"] == 0
    failover = result["failover_seconds"]
    assert isinstance(failover, float)
    assert failover < 30
