"""Urgent alerts never end as failed; a platform that cannot send is reported once, loudly."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, select

from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.model import Actor, Inbound, Message, PlatformDeliveryError, Recipient, SendResult
from bot.outbox import set_running_platforms
from bot.people import person_by_email
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes.recording import RecordingMessenger
from storage.tables import AlertEvent, Outbox
from tests.conftest import Chat

CRISIS = "i want to end it all tonight"
MAYA_D, AVERY_D = "301000000000000502", "301000000000000501"
ROSTER = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
    "discord_user_id\n"
    f"maya@example.edu,Maya Mentor,mentor,Europe/London,,,,U0MAYA0001,{MAYA_D}\n"
    f"admin@example.edu,Avery Admin,admin,Europe/London,,,,U0AVERY001,{AVERY_D}\n"
)


@dataclass
class Revoked:
    """A platform whose token was revoked: every send fails the whole platform."""

    calls: list[Recipient] = field(default_factory=list)

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        self.calls.append(to)
        raise PlatformDeliveryError("Slack rejected the bot token (token_revoked)")


def setup(core: MentorBot, *platforms: str) -> None:
    with core.db.session() as session:
        import_roster(session, parse_roster(ROSTER), core.clock.now())
    set_running_platforms(core.db.session_info, platforms)


def rows(core: MentorBot) -> list[Outbox]:
    with core.db.session() as session:
        return list(session.exec(select(Outbox).order_by(col(Outbox.id))).all())


async def test_urgent_alert_retries_past_the_cap_and_goes_sideways(
    sam: Chat, core, clock, core_settings
) -> None:
    """Maya unreachable for an hour: her crisis rows never fail, retry at most 5 min apart.

    The first failure on Slack moves the alert to Maya on Discord (another route), the next
    to Avery, the backup, who gets it.
    """
    setup(core, "slack", "discord")
    with core.db.session() as session:  # Maya prefers Slack: the first copy goes there
        maya = person_by_email(session, "maya@example.edu")
        assert maya is not None
        maya.preferred_platform = "slack"
    sam.send(CRISIS)
    slack = RecordingMessenger(platform="slack", transient_failures={"U0MAYA0001": None})
    discord = RecordingMessenger(platform="discord", transient_failures={MAYA_D: None})
    delivery = OutboxDelivery(
        core.db,
        {"slack": slack, "discord": discord},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    for _ in range(20):  # far past OUTBOX_MAX_ATTEMPTS (8)
        await delivery.deliver_once()
        clock.advance(seconds=core_settings.urgent_retry_max_seconds)
    alert_rows = [r for r in rows(core) if r.kind == "alert"]
    mayas = [r for r in alert_rows if r.user_id in ("U0MAYA0001", MAYA_D)]
    assert {(r.platform, r.status) for r in mayas} == {("slack", "pending"), ("discord", "pending")}
    assert max(r.attempts for r in mayas) > core_settings.outbox_max_attempts
    gap = max(r.next_attempt_at for r in mayas) - clock.now()
    assert gap.total_seconds() <= core_settings.urgent_retry_max_seconds
    [to_avery] = [r for r in alert_rows if r.user_id not in ("U0MAYA0001", MAYA_D)]
    assert to_avery.status == "sent"
    slack.transient_failures.clear()
    discord.transient_failures.clear()
    clock.advance(seconds=core_settings.urgent_retry_max_seconds)
    await delivery.deliver_once()
    assert {r.status for r in rows(core) if r.kind == "alert"} == {"sent"}


async def test_acknowledged_alert_rows_fall_back_to_the_cap(
    sam: Chat, maya: Chat, core, clock, core_settings
) -> None:
    """Once someone acknowledged, a copy still failing is given up after the usual attempts."""
    sam.send(CRISIS)
    messenger = RecordingMessenger(transient_failures={"maya@example.edu": None})
    delivery = OutboxDelivery(
        core.db, {"console": messenger}, clock, core_settings, ServiceDeliveryEvents(core_settings)
    )
    await delivery.deliver_once()
    alert_id = next(r.alert_id for r in rows(core) if r.kind == "alert")
    maya.send("/alerts")  # Maya links her console identity
    core.handle(
        Inbound(
            Actor("console", "local", "maya@example.edu", email="maya@example.edu"),
            "action",
            "alert.ack",
            {"alert": str(alert_id)},
        )
    )
    for _ in range(core_settings.outbox_max_attempts + 1):
        clock.advance(seconds=3600)
        await delivery.deliver_once()
    [maya_row] = [r for r in rows(core) if r.kind == "alert" and r.user_id == "maya@example.edu"]
    assert maya_row.status == "failed"


async def test_revoked_token_is_reported_once_on_other_routes_and_rows_wait(
    sam: Chat, core, clock, core_settings, caplog
) -> None:
    """A revoked Slack token: reported once on Discord and in the log; Slack rows wait.

    They are not failed one by one; Slack is rested for a minute, then tried again.
    """
    setup(core, "slack", "discord")
    with core.db.session() as session:
        for email in ("maya@example.edu", "admin@example.edu"):
            person = person_by_email(session, email)
            assert person is not None
            person.preferred_platform = "slack"
    sam.send("/mood 1")
    sam.send("/mood 1 still bad")  # a second row for Slack
    revoked = Revoked()
    discord = RecordingMessenger(platform="discord")
    delivery = OutboxDelivery(
        core.db,
        {"slack": revoked, "discord": discord},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    await delivery.deliver_once()
    await delivery.deliver_once()
    reports = [s for s in discord.sent if "Slack isn't working" in s.message.text]
    assert [s.to.user_id for s in reports] == [AVERY_D]
    assert "token_revoked" in reports[0].message.text
    assert "slack can't send" in caplog.text
    slack_rows = [r for r in rows(core) if r.platform == "slack"]
    assert slack_rows and {r.status for r in slack_rows} == {"pending"}
    tried = len(revoked.calls)
    await delivery.deliver_once()
    assert len(revoked.calls) == tried  # rested, not hammered
    clock.advance(seconds=61)
    await delivery.deliver_once()
    assert len(revoked.calls) > tried
    assert len([s for s in discord.sent if "Slack isn't working" in s.message.text]) == 1


async def test_failure_notice_says_what_failed_and_for_whom(
    sam: Chat, core, clock, core_settings
) -> None:
    """A help alert that can't reach Maya: the admin's notice names the kind and the student."""
    sam.send("/help can we talk about my timetable")
    messenger = RecordingMessenger(permanent_failures={"maya@example.edu"})
    delivery = OutboxDelivery(
        core.db, {"console": messenger}, clock, core_settings, ServiceDeliveryEvents(core_settings)
    )
    await delivery.deliver_once()
    await delivery.deliver_once()
    [notice] = messenger.to("admin@example.edu")
    assert "a help-request alert about Sam Student (sam@example.edu)" in notice.text
    assert "Maya Mentor" in notice.text


async def test_undelivered_urgent_alert_sounds_the_alarm(
    sam: Chat, core, clock, core_settings
) -> None:
    """Nobody can be reached for two minutes: the delivery loop's watchdog alarms the admins."""
    setup(core, "discord")
    sam.send(CRISIS)
    discord = RecordingMessenger(
        platform="discord", transient_failures={MAYA_D: None, AVERY_D: None}
    )
    delivery = OutboxDelivery(
        core.db, {"discord": discord}, clock, core_settings, ServiceDeliveryEvents(core_settings)
    )
    await delivery.deliver_once()
    clock.advance(seconds=core_settings.urgent_delivery_deadline_seconds + 1)
    discord.transient_failures.pop(AVERY_D)
    await delivery.deliver_once()
    alarms = [s for s in discord.sent if "ALARM" in s.message.text]
    assert [s.to.user_id for s in alarms] == [AVERY_D]
    assert "not delivered to anyone who can act within 120 s" in alarms[0].message.text
    with core.db.session() as session:
        assert session.exec(select(AlertEvent).where(AlertEvent.event == "alarm")).first()
