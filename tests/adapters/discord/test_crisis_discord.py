"""Crisis end to end on Discord (issue 6): the real discord.py client against the loopback fake.

A student DMs crisis text at 02:00 their time: help in the same reply, the mentor and the on-call
staff channel alerted at once (quiet hours notwithstanding), re-escalation to the backup mentor
when nobody acknowledges within `crisis_ack_minutes`, and none once someone does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from adapters.discord.messenger import PLATFORM, DiscordMessenger
from bot.clock import FixedClock
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.people import person_by_email
from bot.registry import Count
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes import discord_payloads as p
from mentorbot_fakes.discord_api import FakeDiscord
from storage.tables import Alert, AlertEvent, Outbox
from tests.adapters.discord.conftest import DANA, MORGAN, StartBot, World
from tests.tick import REGISTRY, run_due_work

BEA = "301000000000000009"  # Dana's backup mentor
# 02:00 in London on a Monday in November (GMT, so 02:00 UTC): deep in everyone's quiet hours.
NIGHT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CRISIS_TEXT = "i want to end it all tonight"
BACKUP_ROSTER = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
    "discord_user_id\n"
    f"bea@example.edu,Bea Backup,mentor,Europe/London,,,,,{BEA}\n"
    f"dana@example.edu,Dana Student,student,Europe/London,morgan@example.edu,bea@example.edu,,,"
    f"{DANA}\n"
)


@pytest.fixture
def clock() -> FixedClock:
    """The clock at 02:00 local time for Dana (Europe/London)."""
    return FixedClock(NIGHT)


class Night:
    """The world at night with a staff channel and a backup mentor, and a started bot."""

    def __init__(self, fake: FakeDiscord, world: World, client: Any, staff: str) -> None:
        self.fake = fake
        self.world = world
        self.staff = staff
        self.delivery = OutboxDelivery(
            world.db,
            {PLATFORM: DiscordMessenger(client)},
            world.clock,
            world.settings,
            ServiceDeliveryEvents(world.settings),
        )

    def dm_to(self, user_id: str) -> list[dict[str, Any]]:
        """Messages the bot sent into its DM with a user, oldest first."""
        channel = self.fake.dm_channels.get(user_id)
        return [m for m in self.fake.messages_sent if m["channel_id"] == channel]

    def staff_posts(self) -> list[Any]:
        """The bot's posts to the on-call staff channel."""
        return self.fake.calls_matching("POST", rf"^/channels/{self.staff}/messages$")

    def alert(self) -> Alert:
        with self.world.db.session() as session:
            alert = session.exec(select(Alert)).one()
            session.expunge(alert)
            return alert

    def events(self, alert_id: int | None) -> list[str]:
        with self.world.db.session() as session:
            rows = session.exec(
                select(AlertEvent)
                .where(AlertEvent.alert_id == alert_id)
                .order_by(col(AlertEvent.id))
            ).all()
            return [row.event for row in rows]


@pytest.fixture
async def night(fake: FakeDiscord, world: World, start_bot: StartBot) -> Night:
    """Dana gets Bea as backup mentor, on-call is #mentoring, the bot is running."""
    fake.add_user("bea", BEA)
    with world.db.session() as session:
        import_roster(session, parse_roster(BACKUP_ROSTER), world.clock.now())
    staff = fake.default_guild.channel_id("mentoring")  # type: ignore[union-attr]
    settings = replace(world.settings, staff_channel=f"discord:{staff}")
    world = replace(
        world, settings=settings, core=MentorBot(world.db, settings, world.clock, registry=REGISTRY)
    )
    client = await start_bot(core=world.core)
    return Night(fake, world, client, staff)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The buttons on a recorded message, as label -> custom_id."""
    return {b["label"]: b["custom_id"] for row in message["components"] for b in row["components"]}


async def crisis_dm(night: Night) -> dict[str, Any]:
    """Dana sends the crisis DM; returns the JSON of the bot's answer in the same turn."""
    fake = night.fake
    await fake.dispatch_message_create(None, DANA, CRISIS_TEXT)
    reply = await fake.wait_for_call("POST", rf"^/channels/{fake.dm_channels[DANA]}/messages$")
    assert reply.status == 200
    json: dict[str, Any] = reply.json
    return json


async def test_crisis_dm_at_night_gets_help_alerts_at_once_and_reescalates_unacknowledged(
    night: Night,
) -> None:
    """02:00 crisis DM: help in-reply, urgent mentor+on-call alert now, backup after the window."""
    fake, world = night.fake, night.world

    # (1) The answer in the same turn: crisis lines for GB, and that the mentor is being told.
    help_reply = await crisis_dm(night)
    assert help_reply["content"] == "🚨 **Urgent**"
    fields = {f["name"]: f["value"] for e in help_reply["embeds"] for f in e.get("fields", [])}
    assert "Samaritans" in fields and "116 123" in fields["Samaritans"]
    assert "let your mentor know" in str(help_reply["embeds"])

    # (2) Delivery at the same instant: quiet hours (21:00-08:00) do not hold back urgent alerts.
    assert (await night.delivery.deliver_once()).sent == 2
    [to_morgan] = night.dm_to(MORGAN)
    [staff_post] = night.staff_posts()
    for message in (to_morgan, staff_post.response_json):
        assert message["content"] == "🚨 **Urgent**"
        assert "CRISIS: needs contact now" in str(message["embeds"])
        assert CRISIS_TEXT in str(message["embeds"])
        assert "Acknowledge" in buttons(message)
    with world.db.session() as session:
        rows = session.exec(select(Outbox).where(Outbox.kind == "alert")).all()
        assert {(r.urgent, r.status) for r in rows} == {(True, "sent")}
    assert BEA not in fake.dm_channels
    alert = night.alert()
    assert alert.delivered_at is not None and alert.acknowledged_at is None

    # (3) Nobody acknowledges: one minute past the window, the backup and on-call hear again.
    world.clock.advance(minutes=world.settings.crisis_ack_minutes + 1)
    report = run_due_work(world.db, world.settings, world.clock.now())
    assert report.outcome("reescalate_due_alerts", Count).n == 1
    assert (await night.delivery.deliver_once()).sent == 2
    [to_bea] = night.dm_to(BEA)
    assert to_bea["content"] == "🚨 **Urgent**"
    assert "CRISIS: needs contact now" in str(to_bea["embeds"])
    assert "step 1: not yet acknowledged" in str(to_bea["embeds"])
    assert "Acknowledge" in buttons(to_bea)
    staff_posts = night.staff_posts()
    assert len(staff_posts) == 2
    assert "step 1: not yet acknowledged" in str(staff_posts[1].json["embeds"])
    assert len(night.dm_to(MORGAN)) == 1  # Morgan is not sent a duplicate
    assert "escalated" in night.events(alert.id)
    assert night.alert().escalation_level == 1


async def test_acknowledged_crisis_alert_is_not_reescalated(night: Night) -> None:
    """Morgan pressing Acknowledge on the crisis DM stops re-escalation to the backup mentor."""
    fake, world = night.fake, night.world
    await crisis_dm(night)
    assert (await night.delivery.deliver_once()).sent == 2
    [to_morgan] = night.dm_to(MORGAN)

    inter = await fake.dispatch_button(
        buttons(to_morgan)["Acknowledge"], user_id=MORGAN, message_id=to_morgan["id"]
    )
    assert (await fake.wait_for_interaction_response(inter)).type == p.CALLBACK_UPDATE_MESSAGE
    assert "Morgan Mentor acknowledged this" in str(fake.messages[to_morgan["id"]]["embeds"])

    world.clock.advance(minutes=world.settings.crisis_ack_minutes + 1)
    report = run_due_work(world.db, world.settings, world.clock.now())
    assert report.outcome("reescalate_due_alerts", Count).n == 0
    await night.delivery.deliver_once()
    assert night.dm_to(BEA) == []
    assert len(night.staff_posts()) == 1
    alert = night.alert()
    with world.db.session() as session:
        morgan = person_by_email(session, "morgan@example.edu")
        assert morgan is not None
        assert alert.acknowledged_by == morgan.id
    assert alert.next_escalation_at is None and alert.escalation_level == 0
    assert "escalated" not in night.events(alert.id)
