"""The Discord Messenger: DM channel reuse, nonces, and Discord's errors as delivery outcomes."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import aiohttp
import discord
import pytest
from sqlmodel import select

from adapters.discord.messenger import DiscordMessenger, delivery_error
from bot.model import (
    Message,
    PermanentDeliveryError,
    PlatformDeliveryError,
    Recipient,
    TransientDeliveryError,
)
from mentorbot_fakes.discord_api import FakeDiscord
from storage.tables import Identity, Outbox
from tests.adapters.discord.conftest import DANA, StartBot, World


def http_error(status: int, code: int = 0, headers: dict[str, str] | None = None) -> Exception:
    response = SimpleNamespace(status=status, reason="x", headers=headers or {})
    return discord.HTTPException(response, {"message": "boom", "code": code})  # type: ignore[arg-type]


def outbox_rows(world: World) -> list[Outbox]:
    with world.db.session() as session:
        return list(session.exec(select(Outbox).order_by(Outbox.id)).all())  # type: ignore[arg-type]


def test_errors_map_to_permanent_or_transient() -> None:
    """403/404/400 never succeed (permanent); 429, 5xx and network trouble may (transient).

    401 (the token) and an unexpected error stop the platform: PlatformDeliveryError.
    """
    for status, code in ((403, 50007), (404, 10003), (400, 50035)):
        assert isinstance(delivery_error(http_error(status, code)), PermanentDeliveryError)
    limited = delivery_error(http_error(429, headers={"Retry-After": "7"}))
    assert isinstance(limited, TransientDeliveryError) and limited.retry_after == 7.0
    for exc in (http_error(502), aiohttp.ClientConnectionError("reset")):
        error = delivery_error(exc)
        assert isinstance(error, TransientDeliveryError)
        assert not isinstance(error, PlatformDeliveryError)
    for exc in (http_error(401, 0), ValueError("surprise")):
        assert isinstance(delivery_error(exc), PlatformDeliveryError)
    waited = delivery_error(discord.RateLimited(42.0))
    assert isinstance(waited, TransientDeliveryError) and waited.retry_after == 42.0


async def test_not_logged_in_is_transient() -> None:
    """Before the client has logged in a send is retried later, not lost."""
    client = discord.Client(intents=discord.Intents.none())
    with pytest.raises(TransientDeliveryError):
        await DiscordMessenger(client).send(
            Recipient("discord", user_id=DANA), Message("hi"), nonce="n"
        )


async def test_repeated_nonce_posts_once(fake: FakeDiscord, start_bot: StartBot) -> None:
    """A send retried with the same nonce (lease expired mid-send) returns the first message."""
    messenger = DiscordMessenger(await start_bot())
    to = Recipient("discord", user_id=DANA)
    first = await messenger.send(to, Message(text="Check-in time"), nonce="checkin-1")
    again = Recipient("discord", user_id=DANA, channel_id=first.channel_id)
    second = await messenger.send(again, Message(text="Check-in time"), nonce="checkin-1")
    assert first == second and fake.nonce_hits == 1 and len(fake.messages_sent) == 1


async def test_staff_channel_post_goes_straight_to_the_channel(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    """A channel recipient (the staff channel) is posted to directly, pinging nobody."""
    messenger = DiscordMessenger(await start_bot())
    staff = fake.default_guild.channel_id("mentoring")  # type: ignore[union-attr]
    result = await messenger.send(
        Recipient("discord", channel_id=staff),
        Message(text="@everyone look", urgent=True),
        nonce="s",
    )
    [call] = fake.calls_matching("POST", r"^/channels/|^/users/@me/channels")
    assert call.path == f"/channels/{staff}/messages" and result.channel_id == staff
    assert call.json["allowed_mentions"] == {"parse": []}


async def test_vanished_dm_channel_is_reopened_and_replaced(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """A 404 on the kept DM channel reopens the DM once; the core keeps the new channel id."""
    client = await start_bot()
    stale = fake.snowflakes.next()
    fake.unknown_channel(stale)
    with world.db.session() as session:
        identity = session.exec(select(Identity).where(Identity.user_id == DANA)).one()
        identity.dm_channel_id = stale
        session.add(identity)
    world.queue_checkin("dana@example.edu")

    stats = await world.delivery(DiscordMessenger(client)).deliver_once()

    assert stats.sent == 1
    assert [c.status for c in fake.calls_matching("POST", r"/messages$")] == [404, 200]
    with world.db.session() as session:
        identity = session.exec(select(Identity).where(Identity.user_id == DANA)).one()
        assert identity.dm_channel_id == fake.dm_channels[DANA] != stale


async def test_long_rate_limit_and_server_errors_are_retried_later(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """A 429 longer than 30 s and a 503 leave the row pending with a retry time, not failed."""
    delivery = world.delivery(DiscordMessenger(await start_bot()))
    world.queue_checkin("dana@example.edu")
    fake.fail_next(
        "POST",
        r"/messages$",
        429,
        {"message": "You are being rate limited.", "retry_after": 60.0, "global": False},
    )
    assert (await delivery.deliver_once()).retried == 1
    [row] = outbox_rows(world)
    assert row.status == "pending" and "rate limited" in (row.last_error or "")
    assert row.next_attempt_at >= world.clock.now() + timedelta(seconds=60)

    world.clock.advance(timedelta(seconds=61))
    fake.fail_next("POST", r"/messages$", 503, {"message": "Service Unavailable", "code": 0})
    assert (await delivery.deliver_once()).retried == 1
    [row] = outbox_rows(world)
    assert row.status == "pending" and "503" in (row.last_error or "")

    world.clock.advance(timedelta(minutes=5))
    assert (await delivery.deliver_once()).sent == 1
    assert len(fake.messages_sent) == 1
