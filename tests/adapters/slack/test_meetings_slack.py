"""Meetings end to end on Slack: the real bolt app over HTTP, the real messenger, the fake.

Maya publishes hours with `/mentor meet hours`, Sam books a slot from the ephemeral buttons,
both get the ICS invite as an uploaded file (files_upload_v2, with alt text), the
hour-before reminder arrives, and after the meeting Maya answers "Did it happen?" and
writes the session record in a modal. Every timed step runs through `run_due_work` and
`OutboxDelivery`, twice, to show nothing goes twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar
from sqlmodel import select

from bot.clock import FixedClock
from storage.tables import Meeting, SessionRecord
from tests.adapters.slack.conftest import MENTOR, STUDENT, Harness, all_text, buttons_of, payload
from tests.tick import run_due_work


async def answer(slack: Harness, text: str, user: str) -> dict[str, Any]:
    """Run `/mentor TEXT` and return the (ephemeral) answer posted to its response_url."""
    status, name = await slack.command(text, user=user)
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


def record_submission(view: dict[str, Any], topics: str, actions: str, nxt: str) -> dict[str, Any]:
    """A view_submission of the session-record modal the bot opened."""
    data = payload("view_submission")
    data["user"]["id"] = MENTOR
    data["view"].update(
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        blocks=view["blocks"],
        state={
            "values": {
                block: {"value": {"type": "plain_text_input", "value": value}}
                for block, value in (("topics", topics), ("actions", actions), ("next", nxt))
            }
        },
    )
    return data


async def test_hours_booking_invite_reminder_and_record_on_slack(
    slack: Harness, clock: FixedClock
) -> None:
    """Publish hours, book from buttons, ICS uploads, reminder, "Did it happen?", record modal."""
    published = await answer(slack, "meet hours mon,wed 14:00-16:00 30", MENTOR)
    assert "Mon 14:00-16:00, Wed 14:00-16:00 (Europe/London)" in published["text"]
    refused = await answer(slack, "meet link http://meet.example.edu/maya", MENTOR)
    assert "secure https://" in refused["text"]
    await answer(slack, "meet link https://meet.example.edu/maya", MENTOR)

    offer = await answer(slack, "meet", STUDENT)
    labels = [b["text"]["text"] for _, b in buttons_of(offer["blocks"])]
    assert labels[0] == "Mon 23 Nov 2026, 14:00 · Maya Mentor"
    status, name = await slack.press_ephemeral(offer["blocks"], "Mon 23 Nov 2026, 14:00")
    assert status == 200
    await slack.settle()
    [booked] = slack.fake.response_posts_to(name)
    assert booked.body is not None and "Booked: meeting #1" in booked.body["text"]

    # Both invites are uploaded as files into the DMs, with their alt text.
    await slack.delivery.deliver_once(["slack"])
    uploads = [f for f in slack.fake.files.values() if f.completed]
    assert sorted(f.filename for f in uploads) == ["meeting.ics", "meeting.ics"]
    with slack.db.session() as session:
        meeting = session.exec(select(Meeting)).one()
        uid = meeting.uid
    for upload in uploads:
        assert upload.content is not None and upload.alt_txt
        event = Calendar.from_ical(upload.content).walk("VEVENT")[0]
        assert str(event.get("UID")) == uid
        assert event.decoded("DTSTART") == datetime(2026, 11, 23, 14, tzinfo=UTC)

    # The hour-before reminder reaches both, once.
    await tick_and_deliver(slack, clock, datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    for user in (STUDENT, MENTOR):
        reminders = [m for m in slack.dm_messages(user) if "in an hour" in m.text]
        assert len(reminders) == 1

    # After it: "Did it happen?" to Maya; "It happened" offers the record, which opens a modal.
    await tick_and_deliver(slack, clock, datetime(2026, 11, 23, 14, 30, tzinfo=UTC))
    [question] = [m for m in slack.dm_messages(MENTOR) if "did it happen?" in m.text]
    await slack.press(question, "It happened", user=MENTOR)
    await slack.settle()
    assert "recorded as held" in all_text(question.blocks)
    await slack.press(question, "Write the session record", user=MENTOR)
    await slack.settle()
    [opened] = slack.fake.calls_to("views.open")
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "mentorbot-form:meeting.record"

    # No topics: the modal shows the error under the topics; nothing is stored.
    status, body = await slack.interact(record_submission(view, "", "Revise", ""))
    assert status == 200
    errors = json.loads(body)
    assert errors["response_action"] == "errors" and "topics" in errors["errors"]
    with slack.db.session() as session:
        assert session.exec(select(SessionRecord)).all() == []

    status, _ = await slack.interact(
        record_submission(view, "Exam stress", "Revise chapter 3\nBook a room", "Meet in 2 weeks")
    )
    assert status == 200
    await slack.settle()
    with slack.db.session() as session:
        record = session.exec(select(SessionRecord)).one()
        assert (record.topics, record.next_step) == ("Exam stress", "Meet in 2 weeks")
