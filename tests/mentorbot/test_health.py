"""The health endpoint and the Prometheus metrics, over a real server on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.model import Actor, Inbound
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.watchdog import stuck_urgent_alerts
from mentorbot.health import HealthMonitor, HealthServer
from mentorbot.metrics import Metrics
from mentorbot_fakes.recording import RecordingMessenger
from storage.db import Database
from storage.tables import Alert
from tests.conftest import Chat


@dataclass
class Beat:
    """A delivery loop's heartbeat, set by the test."""

    heartbeat: float


@dataclass
class Served:
    """A started health server and what it reads."""

    server: HealthServer
    monitor: HealthMonitor
    metrics: Metrics
    beat: Beat
    now: list[float]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture
async def served(core: MentorBot, clock: FixedClock) -> AsyncIterator[Served]:
    """Health and metrics for the demo programme, on 127.0.0.1 and a free port."""
    now = [1000.0]
    beat = Beat(heartbeat=now[0])
    monitor = HealthMonitor(
        core.db,
        clock,
        delivery=beat,
        stuck_alerts=lambda session, at: stuck_urgent_alerts(session, core.settings, at),
        max_delivery_lag=60.0,
        monotonic=lambda: now[0],
    )
    metrics = Metrics()
    metrics.watch_database(core.db, clock)
    core.on_handled = metrics.on_handled
    server = HealthServer(monitor, "127.0.0.1", 0, metrics=metrics.render)
    await server.start()
    try:
        yield Served(server, monitor, metrics, beat, now)
    finally:
        await server.stop()


async def get(url: str) -> tuple[int, str, dict[str, object] | None]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        body = await response.text()
        data = await response.json() if "json" in response.content_type else None
        return response.status, body, data


async def test_healthy_when_started_connected_and_delivering(served: Served) -> None:
    """All checks pass: 200 with the database, each platform and the delivery lag."""
    served.monitor.started = True

    async def up() -> bool:
        return True

    served.monitor.add_platform("slack", up)
    status, _, data = await get(served.base + "/healthz")
    assert status == 200 and data is not None
    assert data["ok"] is True and data["database"]["ok"] is True  # type: ignore[index]
    assert data["platforms"] == {"slack": {"ok": True, "connected": True}}
    assert data["delivery"]["loop_lag_seconds"] == 0  # type: ignore[index]


async def test_unhealthy_until_started_when_a_platform_drops_or_delivery_stalls(
    served: Served,
) -> None:
    """503 while starting, when a platform is disconnected, and when delivery stops moving."""
    status, _, data = await get(served.base + "/healthz")
    assert status == 503 and data is not None and data["started"] is False
    served.monitor.started = True
    connected = [False]

    async def slack() -> bool:
        return connected[0]

    served.monitor.add_platform("slack", slack)
    status, _, data = await get(served.base + "/healthz")
    assert status == 503 and data is not None
    assert data["platforms"] == {"slack": {"ok": False, "connected": False}}
    connected[0] = True
    assert (await get(served.base + "/healthz"))[0] == 200
    served.now[0] += 61  # no pass and no claim for over a minute
    status, _, data = await get(served.base + "/healthz")
    assert status == 503 and data is not None and data["delivery"]["ok"] is False  # type: ignore[index]


async def test_a_stuck_urgent_alert_makes_it_unhealthy_and_shows_in_metrics(
    served: Served, sam: Chat, clock: FixedClock
) -> None:
    """A crisis alert undelivered past the watchdog's deadline is reported by id, and aged."""
    served.monitor.started = True
    sam.send("I want to kill myself")
    with served.monitor.db.session() as session:
        [alert] = session.exec(select(Alert).where(Alert.severity == "urgent")).all()
    assert (await get(served.base + "/healthz"))[0] == 200  # just raised: not stuck yet
    clock.advance(minutes=6)
    status, body, data = await get(served.base + "/healthz")
    assert status == 503 and data is not None
    assert data["stuck_urgent_alerts"] == {"ok": False, "count": 1, "alert_ids": [alert.id]}
    assert "kill" not in body and "Sam" not in body
    _, metrics, _ = await get(served.base + "/metrics")
    assert "mentorbot_oldest_pending_urgent_alert_seconds 360.0" in metrics
    assert 'mentorbot_outbox_messages{platform="console",status="pending"}' in metrics


async def test_metrics_count_events_sends_retries_and_429s(
    served: Served, core: MentorBot, clock: FixedClock, core_settings
) -> None:
    """Inbound events, handler latency, sends, retries and 429s reach /metrics."""
    actor = Actor("console", "local", "sam@example.edu", email="sam@example.edu")
    await core.ahandle(Inbound(actor, "command", "mood", {}, "1"))
    messenger = RecordingMessenger(transient_failures={"maya@example.edu": 30.0})
    delivery = OutboxDelivery(
        core.db,
        {"console": messenger},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
        observer=served.metrics.observer(),
    )
    await delivery.deliver_once()
    messenger.transient_failures.clear()
    clock.advance(seconds=31)
    await delivery.deliver_once()
    _, text, _ = await get(served.base + "/metrics")
    assert 'mentorbot_inbound_events_total{kind="command",platform="console"} 1.0' in text
    assert 'mentorbot_handler_seconds_count{platform="console"} 1.0' in text
    assert 'mentorbot_messages_sent_total{platform="console"} 1.0' in text
    assert 'mentorbot_send_retries_total{platform="console"} 1.0' in text
    assert 'mentorbot_rate_limited_total{platform="console"} 1.0' in text
    assert "mentorbot_database_up 1.0" in text


async def test_a_database_that_does_not_answer_is_unhealthy_without_its_url(
    core: MentorBot, clock: FixedClock
) -> None:
    """An unreachable database gives 503 and the error's type, never the URL or password."""
    broken = Database("postgresql+psycopg://mentor:s3cret-pw@127.0.0.1:1/nothing")
    monitor = HealthMonitor(
        broken, clock, delivery=Beat(0.0), stuck_alerts=lambda _s, _n: [], monotonic=lambda: 0.0
    )
    monitor.started = True
    try:
        report = await monitor.report()
    finally:
        broken.dispose()
    assert report.ok is False and report.database["ok"] is False
    assert "s3cret" not in str(report.to_json())
    metrics = Metrics()
    metrics.watch_database(broken, clock)
    body, _ = metrics.render()
    assert b"mentorbot_database_up 0.0" in body


async def test_a_taken_health_port_is_a_clear_error(served: Served) -> None:
    """A second bot on the same HEALTH_PORT is told what to change, not given a traceback."""
    from mentorbot.health import HealthPortError

    second = HealthServer(served.monitor, "127.0.0.1", served.server.port)
    with pytest.raises(HealthPortError, match="HEALTH_PORT"):
        await second.start()
