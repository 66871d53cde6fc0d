"""Routing that knows what runs: running platforms, sideways alerts, stranded and waiting rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.model import Actor, Inbound, Message
from bot.outbox import UNROUTED, Push, push_rows, set_running_platforms
from bot.people import person_by_email
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.privacy import purge_expired_text
from bot.services.roster import import_roster, parse_roster
from bot.services.routing import describe_kind, reroute_stranded
from mentorbot_fakes.recording import RecordingMessenger
from storage.tables import Alert, AlertEvent, Outbox
from tests.conftest import Chat
from tests.tick import PERSONAL_DATA, REGISTRY

CRISIS = "i want to end it all tonight"
HEADER = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
    "discord_user_id\n"
)


def roster(core: MentorBot, *lines: str) -> None:
    """Import roster lines (with Slack and Discord ids) over the demo programme."""
    with core.db.session() as session:
        import_roster(session, parse_roster(HEADER + "\n".join(lines) + "\n"), core.clock.now())


def running(core: MentorBot, *platforms: str) -> None:
    """Say which platforms run, as the composition root does when messengers register."""
    set_running_platforms(core.db.session_info, platforms)


def outbox(core: MentorBot) -> list[Outbox]:
    with core.db.session() as session:
        return list(session.exec(select(Outbox).order_by(col(Outbox.id))).all())


def events(core: MentorBot) -> list[AlertEvent]:
    with core.db.session() as session:
        return list(session.exec(select(AlertEvent).order_by(col(AlertEvent.id))).all())


def person_id(core: MentorBot, email: str) -> int:
    with core.db.session() as session:
        person = person_by_email(session, email)
        assert person is not None and person.id is not None
        return person.id


MAYA_SLACK_ONLY = "maya@example.edu,Maya Mentor,mentor,Europe/London,,,,U0MAYA0001,"
AVERY_DISCORD = "admin@example.edu,Avery Admin,admin,Europe/London,,,,U0AVERY001,301000000000000501"


def test_alert_goes_to_the_running_platform_not_the_first_ranked(sam: Chat, core) -> None:
    """Maya has Slack and Discord ids; only Discord runs: her alert is addressed to Discord."""
    roster(
        core, "maya@example.edu,Maya Mentor,mentor,Europe/London,,,,U0MAYA0001,301000000000000502"
    )
    running(core, "discord")
    sam.send(CRISIS)
    rows = [r for r in outbox(core) if r.kind == "alert"]
    assert [(r.platform, r.user_id, r.status) for r in rows] == [
        ("discord", "301000000000000502", "pending")
    ]


def test_unreachable_mentor_sends_the_alert_sideways_at_once(sam: Chat, core, clock) -> None:
    """Maya on Slack only, Discord runs: the crisis goes to the backup at once, not "to Maya"."""
    roster(core, MAYA_SLACK_ONLY, AVERY_DISCORD)
    running(core, "discord")
    sam.send(CRISIS)
    alert_rows = [r for r in outbox(core) if r.kind == "alert"]
    maya, avery = person_id(core, "maya@example.edu"), person_id(core, "admin@example.edu")
    assert {(r.person_id, r.platform, r.status) for r in alert_rows} == {
        (maya, UNROUTED, "rerouted"),
        (avery, "discord", "pending"),
    }
    [rerouted] = [e for e in events(core) if e.event == "rerouted"]
    assert "Maya Mentor can't be reached" in rerouted.detail
    assert "queued for Avery Admin on discord" in rerouted.detail
    assert not any("sent to" in e.detail for e in events(core))


async def test_sideways_copy_is_delivered_and_recorded_for_who_got_it(
    sam: Chat, core, clock, core_settings
) -> None:
    """The delivery loop hands Avery's copy to Discord; the `delivered` event names Avery."""
    roster(core, MAYA_SLACK_ONLY, AVERY_DISCORD)
    running(core, "discord")
    sam.send(CRISIS)
    discord = RecordingMessenger(platform="discord")
    delivery = OutboxDelivery(
        core.db, {"discord": discord}, clock, core_settings, ServiceDeliveryEvents(core_settings)
    )
    assert (await delivery.deliver_once()).sent == 1
    assert [s.to.user_id for s in discord.sent] == ["301000000000000501"]
    [delivered] = [e for e in events(core) if e.event == "delivered"]
    assert delivered.person_id == person_id(core, "admin@example.edu")
    with core.db.session() as session:
        assert session.exec(select(Alert)).one().delivered_at == clock.now()


def test_nobody_reachable_falls_back_to_the_staff_channel(
    sam: Chat, demo, clock, core_settings
) -> None:
    """No person of the chain runs here: the alert goes to the staff channel on Discord."""
    from dataclasses import replace

    settings = replace(core_settings, staff_channel="discord:900")
    core = MentorBot(demo, settings, clock, registry=REGISTRY)
    roster(
        core, MAYA_SLACK_ONLY, "admin@example.edu,Avery Admin,admin,Europe/London,,,,U0AVERY001,"
    )
    running(core, "discord")
    Chat(core, "sam@example.edu").send("/help can we talk about my timetable")
    # A normal alert has no staff copy of its own: the staff channel is the chain's last step.
    alert_rows = [r for r in outbox(core) if r.kind == "alert" and r.status == "pending"]
    assert [(r.platform, r.channel_id) for r in alert_rows] == [("discord", "900")]
    assert "queued for the staff channel on discord" in events(core)[-1].detail


def test_nobody_at_all_is_logged_loudly(sam: Chat, core, caplog) -> None:
    """Nothing of the chain runs and there is no staff channel: an error says so."""
    roster(
        core, MAYA_SLACK_ONLY, "admin@example.edu,Avery Admin,admin,Europe/London,,,,U0AVERY001,"
    )
    running(core, "discord")
    sam.send(CRISIS)
    assert "could not be routed any further" in caplog.text
    [rerouted] = [e for e in events(core) if e.event == "rerouted"]
    assert "nobody further can be reached" in rerouted.detail
    assert CRISIS not in caplog.text  # a student's words never reach a log


async def test_stranded_rows_are_rerouted_parked_or_sent_sideways(
    sam: Chat, alex: Chat, core, clock, core_settings
) -> None:
    """Rows queued for Slack when only Discord runs: moved, parked, or sent sideways.

    Avery's moves to Discord, Alex's (no Discord id) waits on `unrouted`, Maya's alert goes
    sideways.
    """
    roster(core, MAYA_SLACK_ONLY, AVERY_DISCORD)
    with core.db.session() as session:
        alex_p = person_by_email(session, "alex@example.edu")
        avery_p = person_by_email(session, "admin@example.edu")
        assert alex_p is not None and avery_p is not None
        push_rows(
            session,
            [
                Push("nudge:alex", Message(text="Your goal?"), person=alex_p),
                Push("note:avery", Message(text="FYI"), person=avery_p),
            ],
            clock.now(),
            "UTC",
        )
    # Maya's alert, addressed to Slack (nothing said runs)
    sam.send("/help can we talk about my timetable")
    with core.db.session() as session:
        report = reroute_stranded(session, core_settings, clock.now(), frozenset({"discord"}))
    assert (report.moved, report.parked, report.sideways) == (1, 1, 1)
    by_key = {r.dedupe_key: r for r in outbox(core)}
    assert (by_key["note:avery"].platform, by_key["note:avery"].user_id) == (
        "discord",
        "301000000000000501",
    )
    assert by_key["nudge:alex"].platform == UNROUTED
    assert any(r.kind == "alert" and r.platform == "discord" for r in by_key.values())
    with core.db.session() as session:  # a second pass finds nothing new to do
        again = reroute_stranded(session, core_settings, clock.now(), frozenset({"discord"}))
    assert (again.moved, again.parked, again.sideways) == (0, 0, 0)


def test_first_contact_moves_waiting_rows_to_the_linked_platform(core, clock) -> None:
    """Alex has no identity; Slack runs: a nudge waits, and goes to Slack when Alex writes."""
    running(core, "slack")
    with core.db.session() as session:
        alex_p = person_by_email(session, "alex@example.edu")
        assert alex_p is not None
        push_rows(
            session, [Push("nudge:alex", Message(text="Hi"), person=alex_p)], clock.now(), "UTC"
        )
    assert [r.platform for r in outbox(core)] == [UNROUTED]
    actor = Actor("slack", "T1", "U0ALEX", email="alex@example.edu")
    reply = core.handle(Inbound(actor, "command", "resources", {}, ""))
    assert reply.pushed  # the delivery loop is woken for the moved row
    [row] = [r for r in outbox(core) if r.dedupe_key == "nudge:alex"]
    assert (row.platform, row.user_id, row.status) == ("slack", "U0ALEX", "pending")


def test_the_last_platform_used_is_recorded_and_routes_pushes(core, clock) -> None:
    """Avery has both ids and no preference: after writing on Discord, pushes go to Discord."""
    roster(
        core, "admin@example.edu,Avery Admin,admin,Europe/London,,,,U0AVERY001,301000000000000501"
    )
    running(core, "slack", "discord")
    core.handle(
        Inbound(Actor("discord", "G1", "301000000000000501"), "command", "resources", {}, "")
    )
    with core.db.session() as session:
        avery = person_by_email(session, "admin@example.edu")
        assert avery is not None and avery.last_platform == "discord"
        push_rows(session, [Push("n:avery", Message(text="x"), person=avery)], clock.now(), "UTC")
    assert [(r.platform, r.user_id) for r in outbox(core)] == [("discord", "301000000000000501")]


@pytest.mark.parametrize("email_running", [True, False])
def test_urgent_alert_emails_the_chain_without_student_words(
    sam: Chat, core, email_running: bool
) -> None:
    """With email running, the mentor and the backup get a short email: no words, no name."""
    running(core, "console", *(["email"] if email_running else []))
    sam.send(CRISIS)
    emails = [r for r in outbox(core) if r.kind == "alert_email"]
    if not email_running:
        assert emails == []
        return
    assert sorted(r.user_id for r in emails) == ["admin@example.edu", "maya@example.edu"]
    message = Message.from_json(emails[0].payload)
    assert "Sam" not in message.title and "Sam" not in message.text
    assert CRISIS not in message.text and "mentorbot alerts list" in message.text


def test_a_person_gone_is_not_reachable(sam: Chat, core) -> None:
    """An inactive backup is skipped: the chain moves past them (here: to nobody, loudly)."""
    roster(core, MAYA_SLACK_ONLY, AVERY_DISCORD)
    with core.db.session() as session:
        avery = person_by_email(session, "admin@example.edu")
        assert avery is not None
        avery.active = False
        session.add(avery)
    running(core, "discord")
    sam.send(CRISIS)
    assert not [r for r in outbox(core) if r.kind == "alert" and r.status == "pending"]
    [rerouted] = [e for e in events(core) if e.event == "rerouted"]
    assert "nobody further can be reached" in rerouted.detail


def test_waiting_rows_of_someone_who_left_fail_instead_of_waiting(alex: Chat, core, clock) -> None:
    """A row stranded for a person no longer active fails (nobody to wait for), once."""
    with core.db.session() as session:
        alex_p = person_by_email(session, "alex@example.edu")
        assert alex_p is not None
        push_rows(session, [Push("n:alex", Message(text="x"), person=alex_p)], clock.now(), "UTC")
        alex_p.active = False
    with core.db.session() as session:
        report = reroute_stranded(session, core.settings, clock.now(), frozenset({"discord"}))
    assert report.failed == 1
    [row] = outbox(core)
    assert (row.status, row.last_error) == ("failed", "the recipient is no longer active")


def test_describe_kind_names_alerts_and_other_messages() -> None:
    """Failure notices and the status say what failed in words."""

    def alert(kind: str, severity: str) -> Alert:
        return Alert(kind=kind, severity=severity, reason="", created_at=datetime.now(UTC))

    assert describe_kind("alert", alert("crisis", "urgent")) == "an urgent crisis alert"
    assert describe_kind("alert", alert("low_mood", "normal")) == "a low-mood alert"
    assert describe_kind("checkin") == "a check-in"
    assert describe_kind("workshop_reminder") == "a workshop reminder message"


def test_rerouted_copies_are_purged_after_the_retention_period(sam: Chat, core, clock) -> None:
    """A rerouted copy quotes the student's words: it goes with the retention purge."""
    roster(core, MAYA_SLACK_ONLY, AVERY_DISCORD)
    running(core, "discord")
    sam.send(CRISIS)
    assert any(r.status == "rerouted" for r in outbox(core))
    later = clock.now() + timedelta(days=core.settings.retention_days + 1)
    with core.db.session() as session:
        purge_expired_text(session, core.settings, later, tables=PERSONAL_DATA)
    assert not any(r.status == "rerouted" for r in outbox(core))
