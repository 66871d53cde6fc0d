"""The platform budget shared in PostgreSQL (storage/budget.py) and its pacer (SharedPacer).

Real PostgreSQL and real time (a few seconds); skipped without MENTORBOT_TEST_DATABASE_URL.
Every test uses a bucket of its own, so runs side by side never share one.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, create_engine

from bot.pacing import PlatformLimits, RateLimit, SharedPacer
from storage.budget import PostgresBudget

PG_ENV = "MENTORBOT_TEST_DATABASE_URL"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """The migrated PostgreSQL test database, or skip."""
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} is not set")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def engines(pg_url: str) -> Iterator[list[Engine]]:
    """Three engines: three instances' own connection pools."""
    made = [create_engine(pg_url) for _ in range(3)]
    yield made
    for engine in made:
        engine.dispose()


@pytest.fixture
def bucket(request: pytest.FixtureRequest) -> str:
    """A bucket name of this test alone."""
    return f"t{os.getpid()}-{request.node.name}"[:64]


def busiest(times: list[float], window: float) -> int:
    """The most sends in any `window` seconds (each send opens a window)."""
    ordered = sorted(times)
    return max(
        (sum(1 for t in ordered[i:] if t - start < window) for i, start in enumerate(ordered)),
        default=0,
    )


def test_concurrent_takes_never_grant_a_token_twice(engines: list[Engine], bucket: str) -> None:
    """Sixty racing one-token takes on a bucket of 40 that barely refills grant exactly 40."""
    budgets = [PostgresBudget(engine) for engine in engines]
    limit = RateLimit(rate=0.001, burst=40)

    def take(i: int) -> int:
        return budgets[i % 3].take("slack", bucket, 1, limit, 0.0).count

    with ThreadPoolExecutor(max_workers=12) as pool:
        granted = sum(pool.map(take, range(60)))
    assert granted == 40


def test_an_empty_bucket_refills_at_its_rate(engines: list[Engine], bucket: str) -> None:
    """A drained bucket grants nothing, says when to ask again, and grants after that."""
    budget = PostgresBudget(engines[0])
    limit = RateLimit(rate=10.0, burst=3)
    assert budget.take("slack", bucket, 10, limit, 0.0).count == 3
    refused = budget.take("slack", bucket, 1, limit, 0.0)
    assert refused.count == 0
    assert 0 < refused.retry_in <= 0.1 + 1e-6
    time.sleep(0.25)
    # 2.5 tokens came back in 0.25 s (3, the burst, on a machine slow to wake up).
    assert budget.take("slack", bucket, 10, limit, 0.0).count in (2, 3)


def test_a_hold_empties_the_bucket_for_every_instance(engines: list[Engine], bucket: str) -> None:
    """After one instance's hold of 0.5 s, another instance's first token is ~0.5 s off."""
    first, second = PostgresBudget(engines[0]), PostgresBudget(engines[1])
    limit = RateLimit(rate=10.0, burst=3)
    first.hold("discord", bucket, 0.5, limit)
    grant = second.take("discord", bucket, 1, limit, 0.0)
    assert grant.count == 0
    assert 0.45 <= grant.retry_in <= 0.6


async def _send(pacer: SharedPacer, platform: str, until: float, sent: list[float]) -> None:
    """One instance's sends, back to back, through its pacer until `until`."""
    while time.monotonic() < until:
        await pacer.wait_overall(platform)
        sent.append(time.monotonic())


def test_three_instances_together_stay_within_one_budget(
    engines: list[Engine], bucket: str
) -> None:
    """Three pacers sending flat out never exceed rate*T + burst in any window, and use it."""
    rate, burst, seconds = 20.0, 2.0, 4.0
    limits = {"slack": PlatformLimits(overall=RateLimit(rate, burst))}
    pacers = [
        SharedPacer(limits, PostgresBudget(engine), bucket=bucket, late_tolerance=0.02)
        for engine in engines
    ]
    sent: list[float] = []

    async def run() -> None:
        until = time.monotonic() + seconds
        # Five sends waiting at once per instance, as the delivery loop's channels do.
        await asyncio.gather(
            *(_send(pacer, "slack", until, sent) for pacer in pacers for _ in range(5))
        )

    asyncio.run(run())
    # The bound for any window T: burst + rate * (T + the late tolerance + a round trip).
    slack = rate * (0.02 + 0.01)
    for window in (0.25, 1.0, 2.0):
        assert busiest(sent, window) <= burst + rate * window + slack + 1e-9, window
    # ...and the budget is not wasted: at least 90 % of what the bound allows went out.
    assert len(sent) >= 0.9 * rate * seconds
    # Each instance got a share (no instance starved), with several tokens per round trip.
    assert all(p.round_trips > 0 for p in pacers)
    assert sum(p.round_trips for p in pacers) < len(sent) / 2


def test_a_dead_instances_reservation_starves_the_others_briefly(
    engines: list[Engine], bucket: str
) -> None:
    """An instance that reserved ahead and died costs the others at most `ahead` seconds."""
    rate, ahead = 20.0, 0.5
    limit = RateLimit(rate, 2.0)
    dead = PostgresBudget(engines[0])
    reserved = dead.take("discord", bucket, 100, limit, ahead)
    assert reserved.count == int(2 + rate * ahead)  # the burst and half a second: then it dies
    pacer = SharedPacer(
        {"discord": PlatformLimits(overall=RateLimit(rate, 2.0))},
        PostgresBudget(engines[1]),
        bucket=bucket,
        ahead_seconds=ahead,
    )
    sent: list[float] = []

    async def run() -> float:
        started = time.monotonic()
        await _send(pacer, "discord", started + 1.5, sent)
        return started

    started = asyncio.run(run())
    assert sent[0] - started <= ahead + 1.0 / rate + 0.1
    # After that the survivor has the whole rate.
    assert len(sent) >= rate * (1.5 - ahead) * 0.85
