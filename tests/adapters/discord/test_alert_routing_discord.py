"""Alerts that cannot get stuck, end to end (issue 13), through the real clients and fakes.

The real discord.py client and Slack SDK run against the loopback fakes, with a loopback SMTP
server and a loopback webhook receiver:

- a Discord-only deployment whose roster also carries Slack ids alerts the mentor on Discord;
- a mentor nobody can reach here: the backup gets the crisis at once;
- a 30-minute Discord outage (503s, a controllable clock): email during it, the alert
  delivered after it, no row failed;
- a revoked Slack token: reported on Discord, by email, on the webhook and in the staff channel.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import col, select

from adapters.discord.messenger import DiscordMessenger
from adapters.email import EmailConfig, EmailMessenger
from adapters.slack.messenger import SlackMessenger
from adapters.webhook import SIGNATURE_HEADER, WebhookMessenger, signature
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.model import Messenger
from bot.outbox import set_running_platforms
from bot.people import person_by_email
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes.discord_api import FakeDiscord
from mentorbot_fakes.slack_api import FakeSlack
from mentorbot_fakes.smtp import FakeSmtp
from mentorbot_fakes.webhook import FakeWebhook
from storage.tables import Alert, AlertEvent, Outbox
from tests.adapters.discord.conftest import DANA, MORGAN, StartBot, World
from tests.tick import REGISTRY, run_due_work

CRISIS_TEXT = "i want to end it all tonight"
BEA = "301000000000000009"  # a backup mentor on Discord
AVERY = "301000000000000010"  # the admin on Discord
HEADER = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
    "discord_user_id\n"
)
WEBHOOK_SECRET = "hook-secret"


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    """A loopback SMTP server."""
    server = FakeSmtp().start()
    yield server
    server.stop()


@pytest.fixture
async def hook() -> AsyncIterator[FakeWebhook]:
    """A loopback webhook receiver."""
    async with FakeWebhook() as receiver:
        yield receiver


def roster(world: World, *lines: str) -> None:
    with world.db.session() as session:
        import_roster(session, parse_roster(HEADER + "\n".join(lines) + "\n"), world.clock.now())


def deployment(world: World, messengers: dict[str, Messenger]) -> OutboxDelivery:
    """What `mentorbot run` builds: the core told what runs, a loop over those messengers."""
    set_running_platforms(world.db.session_info, messengers)
    return OutboxDelivery(
        world.db, messengers, world.clock, world.settings, ServiceDeliveryEvents(world.settings)
    )


def email_messenger(smtp: FakeSmtp) -> EmailMessenger:
    return EmailMessenger(
        EmailConfig(host="127.0.0.1", port=smtp.port, sender="bot@school.edu", starttls=False)
    )


def dm_to(fake: FakeDiscord, user_id: str) -> list[dict[str, Any]]:
    """What the bot posted in its DM with a user, oldest first."""
    channel = fake.dm_channels.get(user_id)
    return [m for m in fake.messages_sent if m["channel_id"] == channel]


async def crisis_dm(fake: FakeDiscord) -> None:
    """Dana DMs crisis words; returns once the bot answered her."""
    await fake.dispatch_message_create(None, DANA, CRISIS_TEXT)
    await fake.wait_for_call("POST", rf"^/channels/{fake.dm_channels[DANA]}/messages$")


def alert_of(world: World) -> Alert:
    with world.db.session() as session:
        alert = session.exec(select(Alert)).one()
        session.expunge(alert)
        return alert


def events_of(world: World) -> list[AlertEvent]:
    with world.db.session() as session:
        return list(session.exec(select(AlertEvent).order_by(col(AlertEvent.id))).all())


@pytest.mark.parametrize("core_told", [True, False], ids=["core-told", "loop-reroutes"])
async def test_discord_only_deployment_with_slack_ids_alerts_the_mentor_on_discord(
    fake: FakeDiscord, world: World, start_bot: StartBot, core_told: bool
) -> None:
    """Morgan and Dana also have Slack ids; only Discord runs: Morgan gets it on Discord, fast.

    Either the core knows what runs (the row is addressed to Discord), or, as in a process
    that does not know, the delivery loop moves the row off Slack before sending.
    """
    roster(
        world,
        f"morgan@example.edu,Morgan Mentor,mentor,Europe/London,,,,U0MORGAN01,{MORGAN}",
        f"dana@example.edu,Dana Student,student,Europe/London,morgan@example.edu,,,U0DANA0001,"
        f"{DANA}",
    )
    client = await start_bot()
    messenger = DiscordMessenger(client)
    delivery = OutboxDelivery(
        world.db,
        {"discord": messenger},
        world.clock,
        world.settings,
        ServiceDeliveryEvents(world.settings),
    )
    if core_told:
        delivery = deployment(world, {"discord": messenger})
    started = time.monotonic()
    await crisis_dm(fake)
    assert (await delivery.deliver_once()).sent >= 1
    [to_morgan] = dm_to(fake, MORGAN)
    assert time.monotonic() - started < 5
    assert "CRISIS: needs contact now" in str(to_morgan["embeds"])
    assert alert_of(world).delivered_at is not None
    with world.db.session() as session:
        rows = session.exec(select(Outbox).where(Outbox.kind == "alert")).all()
    assert {(r.platform, r.status) for r in rows} == {("discord", "sent")}


async def test_mentor_unreachable_here_sends_the_crisis_to_the_backup_at_once(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Dana's mentor Quinn is on Slack only, Discord runs: Bea (backup) gets it in one pass."""
    fake.add_user("bea", BEA)
    roster(
        world,
        "quinn@example.edu,Quinn Mentor,mentor,Europe/London,,,,U0QUINN001,",
        f"bea@example.edu,Bea Backup,mentor,Europe/London,,,,,{BEA}",
        f"dana@example.edu,Dana Student,student,Europe/London,quinn@example.edu,bea@example.edu,,,"
        f"{DANA}",
    )
    delivery = deployment(world, {"discord": DiscordMessenger(await start_bot())})
    await crisis_dm(fake)
    await delivery.deliver_once()
    [to_bea] = dm_to(fake, BEA)
    assert "CRISIS: needs contact now" in str(to_bea["embeds"])
    events = events_of(world)
    [rerouted] = [e for e in events if e.event == "rerouted"]
    assert "Quinn Mentor can't be reached on any platform that runs here" in rerouted.detail
    assert "queued for Bea Backup on discord" in rerouted.detail
    delivered = [e for e in events if e.event == "delivered"]
    with world.db.session() as session:
        bea = person_by_email(session, "bea@example.edu")
        quinn = person_by_email(session, "quinn@example.edu")
        assert bea is not None and quinn is not None
        assert [e.person_id for e in delivered] == [bea.id]
        assert all(e.person_id != quinn.id for e in delivered)


async def test_thirty_minute_outage_emails_during_it_and_delivers_after(
    fake: FakeDiscord, world: World, start_bot: StartBot, smtp: FakeSmtp
) -> None:
    """A 30-minute Discord outage: email during it, the alert delivered after, nothing failed.

    The chain is emailed at once and the admins alarmed; Morgan gets it on Discord once
    Discord is back.
    """
    delivery = deployment(
        world, {"discord": DiscordMessenger(await start_bot()), "email": email_messenger(smtp)}
    )
    await crisis_dm(fake)
    fake.fail_next("POST", r"^/(channels/\d+/messages|users/@me/channels)$", 503, times=100_000)
    for _minute in range(30):
        await delivery.deliver_once()
        world.clock.advance(minutes=1)
        run_due_work(world.db, world.settings, world.clock.now())
    # During the outage: email to Morgan and the admin, nothing of Dana's in it.
    assert smtp.to("morgan@example.edu") and smtp.to("admin@example.edu")
    for mail in smtp.received:
        assert "Dana" not in mail.subject
        assert CRISIS_TEXT not in mail.body and "Dana" not in mail.body
    assert any("ALARM" in mail.subject for mail in smtp.to("admin@example.edu"))
    assert dm_to(fake, MORGAN) == []
    with world.db.session() as session:
        statuses = {r.status for r in session.exec(select(Outbox).where(Outbox.kind == "alert"))}
    assert "failed" not in statuses
    assert alert_of(world).delivered_at is None

    fake.clear_failures()
    world.clock.advance(seconds=world.settings.urgent_retry_max_seconds)
    await delivery.deliver_once()
    [to_morgan, *_later] = dm_to(fake, MORGAN)
    assert "CRISIS: needs contact now" in str(to_morgan["embeds"])
    assert alert_of(world).delivered_at is not None


async def test_revoked_slack_token_is_reported_on_every_other_route(
    fake: FakeDiscord,
    world: World,
    start_bot: StartBot,
    smtp: FakeSmtp,
    hook: FakeWebhook,
) -> None:
    """A revoked Slack token is reported once on every other route; Slack rows wait.

    Avery hears on Discord, by email, on the webhook and in the staff channel.
    """
    fake.add_user("avery", AVERY)
    roster(
        world,
        f"admin@example.edu,Avery Admin,admin,Europe/London,,,,U0AVERY001,{AVERY}",
        "eli@example.edu,Eli Student,student,Europe/London,morgan@example.edu,,,U0ELI00001,",
    )
    staff = fake.default_guild.channel_id("mentoring")  # type: ignore[union-attr]
    world = replace(world, settings=replace(world.settings, staff_channel=f"discord:{staff}"))
    async with FakeSlack() as slack:
        slack.add_user("U0ELI00001", email="eli@example.edu", tz="Europe/London", name="eli")
        slack.fail_next("chat.postMessage", "token_revoked", times=1000)
        delivery = deployment(
            world,
            {
                "slack": SlackMessenger(slack.web_client()),
                "discord": DiscordMessenger(
                    await start_bot(
                        core=MentorBot(world.db, world.settings, world.clock, registry=REGISTRY)
                    )
                ),
                "email": email_messenger(smtp),
                "webhook": WebhookMessenger(hook.url, WEBHOOK_SECRET),
            },
        )
        world.queue_message("eli@example.edu", "nudge", "How is your goal going?")
        world.queue_message("eli@example.edu", "nudge2", "And this week?")
        await delivery.deliver_once()
        await delivery.deliver_once()
    [to_avery] = dm_to(fake, AVERY)
    assert "Slack isn't working" in str(to_avery) and "token_revoked" in str(to_avery)
    [mail] = smtp.to("admin@example.edu")
    assert "Slack can't send" in mail.subject
    [posted] = hook.received
    assert posted.headers[SIGNATURE_HEADER] == signature(WEBHOOK_SECRET, posted.body)
    assert posted.json["fields"] == {"platform": "slack"}
    staff_posts = fake.calls_matching("POST", rf"^/channels/{staff}/messages$")
    assert len(staff_posts) == 1 and "Slack isn't working" in str(staff_posts[0].json)
    with world.db.session() as session:
        waiting = session.exec(select(Outbox).where(Outbox.platform == "slack")).all()
    assert len(waiting) == 2 and {r.status for r in waiting} == {"pending"}
