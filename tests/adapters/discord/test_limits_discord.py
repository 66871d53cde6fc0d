"""Discord at its real limits: DMs closed, DMs opened too fast, invalid requests, command sync.

50007 and 40003 answers, invalid requests kept far from the ban, and commands synced only
when they change.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from discord.http import Ratelimit
from sqlmodel import select

from adapters.discord.limits import BucketPruner, FirstContactRamp, InvalidRequestGuard
from adapters.discord.messenger import DiscordMessenger
from bot.model import Message, Recipient
from bot.services.platform_state import CommandSyncGate
from mentorbot_fakes.discord_api import FakeDiscord
from storage.enums import OutboxStatus
from storage.tables import Identity, Outbox
from tests.adapters.discord.conftest import DANA, ELI, MORGAN, StartBot, World


def _dm_to(fake: FakeDiscord, user_id: str) -> list[dict[str, Any]]:
    channel = fake.dm_channels.get(user_id)
    return [m for m in fake.messages_sent if m["channel_id"] == channel]


def _posts_to(fake: FakeDiscord, user_id: str) -> int:
    channel = fake.dm_channels.get(user_id)
    return len(fake.calls_matching("POST", rf"^/channels/{channel}/messages$"))


def _closed_at(world: World, user_id: str) -> datetime | None:
    with world.db.session() as session:
        identity = session.exec(select(Identity).where(Identity.user_id == user_id)).one()
        return identity.dms_closed_at


def _notices(fake: FakeDiscord) -> list[str]:
    return [str(m) for m in _dm_to(fake, MORGAN) if "Direct messages closed" in str(m)]


class _Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_dms_closed_is_said_once_and_retried_only_after_the_student_writes(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """50007 marks Dana once and Morgan hears once; nothing is sent to her until she writes."""
    client = await start_bot()
    messenger = DiscordMessenger(client)
    client.user_seen.append(messenger.user_wrote)
    delivery = world.delivery(messenger)
    fake.forbid_dm(DANA)

    world.queue_checkin("dana@example.edu")
    await delivery.deliver_once()
    await delivery.deliver_once()  # the notice to Morgan
    assert _closed_at(world, DANA) is not None
    [notice] = _notices(fake)
    assert "Privacy Settings" in notice and "write to the bot" in notice
    assert _posts_to(fake, DANA) == 1

    # The next days' check-ins: no request to Discord, no second notice.
    for day in range(3):
        world.clock.advance(days=1)
        world.queue_message("dana@example.edu", f"nudge{day}", "Your weekly goal nudge")
        await delivery.deliver_once()
        await delivery.deliver_once()
    assert _posts_to(fake, DANA) == 1
    assert len(_notices(fake)) == 1

    # Dana opens her DMs and writes to the bot: the mark goes, the next check-in arrives.
    fake.allow_dm(DANA)
    await fake.dispatch_message_create(None, DANA, "hi, I opened my DMs")
    await fake.wait_for(lambda: _closed_at(world, DANA) is None)
    world.clock.advance(days=1)
    world.queue_message("dana@example.edu", "nudge9", "Your weekly goal nudge")
    await delivery.deliver_once()
    assert any("weekly goal nudge" in str(m) for m in _dm_to(fake, DANA))


async def test_opening_dms_too_fast_is_transient_with_a_long_backoff(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """40003 keeps the row (pending, ten minutes on) and pauses first contacts; never failed."""
    client = await start_bot()
    messenger = DiscordMessenger(client)
    delivery = world.delivery(messenger)
    fake.dm_open_limit = 0  # Discord refuses every new DM conversation for now

    world.queue_checkin("eli@example.edu")
    stats = await delivery.deliver_once()
    assert (stats.sent, stats.failed, stats.retried) == (0, 0, 1)
    with world.db.session() as session:
        [row] = session.exec(select(Outbox).where(Outbox.kind == "checkin")).all()
    assert row.status == OutboxStatus.PENDING
    assert row.next_attempt_at is not None
    due = row.next_attempt_at.replace(tzinfo=row.next_attempt_at.tzinfo or UTC)
    assert due - world.clock.now() >= timedelta(minutes=10)
    assert messenger.ramp.refusals == 1
    assert fake.dm_open_refusals == 1
    assert _notices(fake) == []


def test_first_contacts_ramp_up_and_halve_on_a_refusal() -> None:
    """A burst goes at once, then the rate; it doubles each quiet minute and halves on 40003."""
    clock = _Clock()
    ramp = FirstContactRamp(start=0.5, ceiling=2.0, burst=2, step=60.0, backoff=600, clock=clock)
    assert [ramp.wait() for _ in range(2)] == [0.0, 0.0]
    assert ramp.wait() == 2.0  # the third waits for the next token at 0.5/s
    clock.now += 60
    assert ramp.wait() == 0.0 and ramp.rate == 1.0  # a quiet minute doubled it
    assert ramp.refused() == 600
    assert ramp.rate == 0.5 and ramp.wait() == 600.0


def test_invalid_request_guard_counts_what_discord_counts() -> None:
    """401, 403 and non-shared 429 count for 10 minutes; past the limit sends pause."""
    clock = _Clock()
    guard = InvalidRequestGuard(limit=3, window=600, clock=clock)
    for status, scope in ((200, None), (404, None), (429, "shared"), (403, None), (401, None)):
        guard.record(status, scope)
    assert guard.count() == 2 and guard.pause_seconds() == 0.0
    clock.now += 100
    guard.record(429, "user")
    assert guard.pause_seconds() == 500.0  # until the first two leave the window
    clock.now += 501
    assert guard.count() == 1 and guard.pause_seconds() == 0.0


async def test_invalid_requests_pause_every_send(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Refusals counted from discord.py's own traffic pause all pushes, far below the ban."""
    client = await start_bot()
    client.guard.limit = 2
    messenger = DiscordMessenger(client, guard=client.guard)
    delivery = world.delivery(messenger)
    fake.forbid_dm(DANA)
    fake.forbid_dm(ELI)
    world.queue_checkin("dana@example.edu")
    world.queue_checkin("eli@example.edu")
    await delivery.deliver_once()
    assert client.guard.count() == 2 == len(fake.invalid_at)

    world.queue_message("morgan@example.edu", "nudge", "hello Morgan")
    before = len(fake.calls)
    stats = await delivery.deliver_once()
    assert stats.sent == 0
    # Only the notices' and the nudge's sends were held back: nothing reached Discord.
    assert len(fake.calls) == before
    assert "invalid requests" in str(delivery.down.get("discord"))


async def test_a_global_429_is_reported_with_its_exact_wait(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """discord.py waits out a global 429 itself; the messenger still reports the body's wait."""
    client = await start_bot()
    messenger = DiscordMessenger(client, guard=client.guard)
    holds: list[float] = []
    messenger.report_holds(holds.append)
    fake.fail_next(
        "POST",
        r"/messages$",
        429,
        {"message": "You are being rate limited.", "retry_after": 0.25, "global": True},
        headers={"X-RateLimit-Scope": "global", "X-RateLimit-Global": "true"},
    )
    world.queue_checkin("dana@example.edu")
    stats = await world.delivery(messenger).deliver_once()
    assert stats.sent == 1  # the library retried after the wait
    # The body's retry_after, not the header rounded up to whole seconds.
    assert holds == [0.25]


async def test_pruning_drops_only_the_buckets_at_rest() -> None:
    """Buckets with a request in flight or exhausted until their reset stay; the rest go."""

    class Http:
        _buckets: dict[str, Ratelimit]

    http = Http()
    http._buckets = {f"idle-{i}": Ratelimit(None) for i in range(8)}
    busy, exhausted = Ratelimit(None), Ratelimit(None)
    busy.outgoing = 1
    exhausted.remaining, exhausted.expires = 0, asyncio.get_running_loop().time() + 5
    http._buckets.update(busy=busy, exhausted=exhausted)
    pruner = BucketPruner(at=10)
    assert pruner.prune(http) == 8
    assert set(http._buckets) == {"busy", "exhausted"}
    http._buckets["new"] = Ratelimit(None)
    assert pruner.prune(http) == 0  # under the threshold again: no scan at all


async def test_a_fan_out_keeps_discord_pys_bucket_table_small(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Sends to many channels leave discord.py a bounded table of buckets (no O(n) scans)."""
    client = await start_bot()
    messenger = DiscordMessenger(client, guard=client.guard)
    messenger.pruner = BucketPruner(at=10)
    for i in range(60):
        user_id = str(700_000_000_000_000_000 + i)
        to = Recipient(
            platform="discord", user_id=user_id, channel_id=fake.dm_channel_id_for(user_id)
        )
        await messenger.send(to, Message(text="hello"), nonce=f"fan-out-{i}")
    assert len(fake.messages_sent) >= 60
    # Without pruning discord.py would hold a bucket per channel: 60 and more.
    assert messenger.pruner.pruned >= 50 and len(client.http._buckets) <= 20


async def test_commands_sync_once_until_the_tree_changes(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """A restart with the same commands syncs nothing; a changed tree syncs again."""
    gate = CommandSyncGate(world.db)
    puts = r"/applications/\d+/guilds/\d+/commands$"
    await start_bot(sync_gate=gate)
    first = len(fake.calls_matching("PUT", puts))
    assert first == len(fake.guilds)
    await start_bot(sync_gate=gate)  # a restart
    assert len(fake.calls_matching("PUT", puts)) == first
    await start_bot(sync_gate=gate, guild_ids=[])  # a different target: global commands
    assert len(fake.calls_matching("PUT", r"/applications/\d+/commands$")) == 1


async def test_two_instances_starting_together_sync_once(world: World) -> None:
    """Concurrent compare-and-set of the same hash: exactly one instance claims the sync."""
    gates = [CommandSyncGate(world.db) for _ in range(4)]
    claimed = await asyncio.gather(*(g.claim("abc123") for g in gates))
    assert sorted(claimed) == [False, False, False, True]
    await gates[0].forget("abc123")  # that sync failed: the next start tries again
    assert await gates[1].claim("abc123") is True
