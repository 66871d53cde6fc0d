"""Workshops end to end on Slack: the real bolt app over HTTP, the real messenger, the fake.

A mentor binds her group to a channel and creates a session with `/mentor workshop add`; the
announcement is posted in the channel; members press Going up to the capacity, one waits and
is promoted (by DM) when someone drops; both reminders reach members in two time zones (each
in their own time), the start post lands in the channel, feedback is collected after, and the
mentor reads the report. Every timed step runs through `run_due_work` (as the minute tick
does) and `OutboxDelivery` (as the delivery loop does), twice, to show nothing goes twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.services.roster import import_roster, parse_roster
from bot.services.workshop_tick import WorkshopTickOutcome
from mentorbot_fakes.slack_api import StoredMessage
from storage.tables import CheckinSchedule, Outbox, Rsvp, WorkshopFeedback
from tests.adapters.slack.conftest import MENTOR, STUDENT, Harness, all_text, buttons_of
from tests.tick import run_due_work

CHANNEL = "C0WORKSHOP"
ALEX = "U0ALEX0001"  # America/New_York
KIM = "U0KIM00001"  # Europe/London
ROSTER = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id\n"
    "alex@example.edu,Alex Student,student,America/New_York,maya@example.edu,,"
    f"Study skills,{ALEX}\n"
    f"kim@example.edu,Kim Student,student,Europe/London,maya@example.edu,,Study skills,{KIM}\n"
)
# Tuesday 1 December 2026, 16:00 in London (GMT) = 11:00 in New York.
ADD = 'workshop add "Exam stress" 2026-12-01 16:00 Europe/London 60 cap 2 https://meet.example/abc'


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def workshop_slack(slack: Harness, clock: FixedClock) -> Harness:
    """The Slack harness plus Alex and Kim with Slack ids; check-ins off to keep DMs quiet."""
    with slack.db.session() as session:
        import_roster(session, parse_roster(ROSTER), clock.now())
        for schedule in session.exec(select(CheckinSchedule)).all():
            schedule.active = False  # the demo's weekday check-ins would add unrelated DMs
            session.add(schedule)
    slack.fake.add_user(ALEX, email="alex@example.edu", tz="America/New_York", name="alex")
    slack.fake.add_user(KIM, email="kim@example.edu", tz="Europe/London", name="kim")
    slack.fake.add_channel(CHANNEL, name="study-skills")
    slack.fake.channel_burst = 100  # pacing is tested elsewhere; here every post goes at once
    return slack


async def answer(slack: Harness, text: str, user: str = MENTOR) -> dict[str, Any]:
    """Run `/mentor TEXT` and return the (ephemeral) answer posted to its response_url."""
    status, name = await slack.command(text, user=user)
    assert status == 200
    await slack.settle()
    [posted] = slack.fake.response_posts_to(name)
    assert posted.body is not None
    return posted.body


async def press(slack: Harness, message: StoredMessage, label: str, user: str) -> dict[str, Any]:
    """Press a button on a posted message; return the private answer (response_url)."""
    status, name = await slack.press(message, label, user=user)
    assert status == 200
    await slack.settle()
    [posted] = slack.fake.response_posts_to(name)
    assert posted.body is not None
    return posted.body


async def tick_and_deliver(slack: Harness, clock: FixedClock, at: datetime) -> None:
    """The minute tick at `at`, then the delivery loop; both twice (nothing may repeat)."""
    clock.set(at)
    for _ in range(2):
        run_due_work(slack.db, slack.service.adapter.core.settings, at)
        await slack.delivery.deliver_once(["slack"])


def posts(slack: Harness) -> list[str]:
    """Every chat.postMessage channel, in order."""
    return [c.json_params["channel"] for c in slack.fake.calls_to("chat.postMessage")]


async def test_workshop_from_creation_to_report(workshop_slack: Harness, clock) -> None:
    """Create, RSVP to capacity, waitlist promotion, reminders, start post, feedback, report."""
    slack = workshop_slack
    bound = await answer(slack, f"group bind slack {CHANNEL} Study skills")
    assert "bound to the slack channel C0WORKSHOP" in bound["text"]
    created = await answer(slack, ADD)
    assert created["response_type"] == "ephemeral"
    assert "Created workshop:\n#1 Exam stress for Study skills" in all_text(created["blocks"])

    # The announcement goes to the channel, with buttons anyone there can press.
    await slack.delivery.deliver_once(["slack"])
    [announcement] = slack.fake.messages_in(CHANNEL)
    text = all_text(announcement.blocks)
    assert "Tue 1 Dec, 16:00–17:00 (Europe/London)" in text
    assert "Tue 1 Dec, 11:00–12:00 (America/New_York)" in text
    assert "meet.example/abc" in text
    assert [b["text"]["text"] for _, b in buttons_of(announcement.blocks)] == [
        "Going",
        "Not going",
    ]

    # Two places: Sam and Alex go, Kim waits; Sam drops out and Kim is promoted.
    assert "You're going" in (await press(slack, announcement, "Going", STUDENT))["text"]
    assert "You're going" in (await press(slack, announcement, "Going", ALEX))["text"]
    waitlisted = await press(slack, announcement, "Going", KIM)
    assert "waitlist" in waitlisted["text"] and waitlisted["response_type"] == "ephemeral"
    await press(slack, announcement, "Not going", STUDENT)
    await slack.delivery.deliver_once(["slack"])
    [promotion] = slack.dm_messages(KIM)
    assert "A place opened up" in promotion.text and "16:00–17:00 (Europe/London)" in promotion.text

    # The day before and the hour before, each in the reader's own time.
    await tick_and_deliver(slack, clock, utc(2026, 11, 30, 16, 0))
    await tick_and_deliver(slack, clock, utc(2026, 12, 1, 15, 0))
    alex_dms = [m.text for m in slack.dm_messages(ALEX)]
    kim_dms = [m.text for m in slack.dm_messages(KIM)][1:]
    assert len(alex_dms) == len(kim_dms) == 2
    assert "is coming up: Tue 1 Dec, 11:00–12:00 (America/New_York)" in alex_dms[0]
    assert "starts soon: Tue 1 Dec, 11:00–12:00 (America/New_York)" in alex_dms[1]
    assert "is coming up: Tue 1 Dec, 16:00–17:00 (Europe/London)" in kim_dms[0]
    assert "starts soon: Tue 1 Dec, 16:00–17:00 (Europe/London)" in kim_dms[1]
    assert slack.dm_messages(STUDENT) == []  # Sam dropped out before the reminders

    # The start post in the channel: the link and an I'm here button; Alex checks in.
    await tick_and_deliver(slack, clock, utc(2026, 12, 1, 16, 0))
    start = slack.fake.messages_in(CHANNEL)[-1]
    assert "is starting now" in start.text and "meet.example/abc" in all_text(start.blocks)
    clock.set(utc(2026, 12, 1, 16, 5))
    assert "checked in" in (await press(slack, start, "I'm here", ALEX))["text"]

    # After the end: feedback prompts by DM; Alex rates it and adds a comment.
    await tick_and_deliver(slack, clock, utc(2026, 12, 1, 17, 0))
    prompt = slack.dm_messages(ALEX)[-1]
    assert "How useful was it" in prompt.text
    await slack.press(prompt, "4", user=ALEX)
    await slack.settle()
    assert "you rated “Exam stress” 4/5" in prompt.text  # the prompt, edited in place
    await slack.dm("The breathing part helped", user=ALEX, event_id="Ev0FEEDBACK1")
    await slack.settle()
    assert "added that to your feedback" in slack.dm_messages(ALEX)[-1].text
    with slack.db.session() as session:
        feedback = session.exec(select(WorkshopFeedback)).one()
        assert (feedback.rating, feedback.comment) == (4, "The breathing part helped")

    # The mentor's report: RSVPs, attendance, and feedback suppressed below five answers.
    report = all_text((await answer(slack, "workshop report 1"))["blocks"])
    assert "Alex Student, Kim Student" in report
    assert "Not going*\nSam Student" in report
    assert "Attended (1)*\nAlex Student" in report
    assert "1 response(s). Fewer than 5 people rated it" in report

    # Nothing went twice: one announcement and one start post in the channel, and per person
    # one promotion, two reminders and one feedback prompt (plus the answers in the DM).
    assert posts(slack).count(CHANNEL) == 2
    with slack.db.session() as session:
        keys = [r.dedupe_key for r in session.exec(select(Outbox)).all()]
    assert len(keys) == len(set(keys))
    expected = ["announce", "promoted", "remind-day", "remind-day", "remind-hour", "remind-hour"]
    assert sorted(k.split(":")[2] for k in keys if k.startswith("workshop:")) == sorted(
        [*expected, "start", "feedback", "feedback"]
    )


async def test_a_second_scheduler_sends_nothing_more(workshop_slack: Harness, clock) -> None:
    """Two instances running the same tick and delivery: each reminder reaches Slack once."""
    slack = workshop_slack
    await answer(slack, f"group bind slack {CHANNEL} Study skills")
    await answer(slack, ADD)
    await slack.delivery.deliver_once(["slack"])
    [announcement] = slack.fake.messages_in(CHANNEL)
    await press(slack, announcement, "Going", ALEX)
    at = utc(2026, 11, 30, 16, 0)
    clock.set(at)
    settings = slack.service.adapter.core.settings
    first = run_due_work(slack.db, settings, at)
    second = run_due_work(slack.db, settings, at)  # the other instance, same minute
    steps = [r.outcome("run_workshop_steps", WorkshopTickOutcome) for r in (first, second)]
    assert [s.day_reminders for s in steps] == [1, 0]
    await slack.delivery.deliver_once(["slack"])
    await slack.delivery.deliver_once(["slack"])
    [reminder] = slack.dm_messages(ALEX)
    assert reminder.text.startswith("Workshop reminder")


async def test_bot_not_in_the_channel_fails_the_post_and_tells_the_mentor(
    workshop_slack: Harness,
) -> None:
    """Slack's not_in_channel fails the announcement for good; Maya is told by DM."""
    slack = workshop_slack
    slack.fake.fail_channel(CHANNEL, "not_in_channel")
    await answer(slack, f"group bind slack {CHANNEL} Study skills")
    await answer(slack, ADD)
    await slack.delivery.deliver_once(["slack"])
    await slack.delivery.deliver_once(["slack"])
    with slack.db.session() as session:
        rows = {r.kind: r for r in session.exec(select(Outbox)).all()}
    assert rows["workshop"].status == "failed" and rows["workshop"].last_error == "not_in_channel"
    [notice] = slack.dm_messages(MENTOR)
    assert "the slack channel C0WORKSHOP" in notice.text and "not_in_channel" in notice.text
    assert slack.fake.messages_in(CHANNEL) == []


async def test_non_members_and_mentors_are_refused_privately(workshop_slack: Harness) -> None:
    """A mentor pressing Going in the channel is told why, privately; nothing is stored."""
    slack = workshop_slack
    await answer(slack, f"group bind slack {CHANNEL} Study skills")
    await answer(slack, ADD)
    await slack.delivery.deliver_once(["slack"])
    [announcement] = slack.fake.messages_in(CHANNEL)
    refused = await press(slack, announcement, "Going", MENTOR)
    assert "don't need to RSVP" in refused["text"] and refused["response_type"] == "ephemeral"
    with slack.db.session() as session:
        assert session.exec(select(Rsvp)).all() == []
