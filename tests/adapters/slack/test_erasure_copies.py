"""Erasure reaches Slack: the bot deletes or edits its delivered copies, and only its own.

Real slack_sdk calls (chat.delete, chat.update) against the loopback Slack, which refuses, as
Slack does, to let a bot token delete a message a person wrote.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.model import Message
from bot.outbox import Push, push_rows
from bot.people import person_by_email
from bot.services.privacy import REMOVED, erase_person
from storage.enums import OutboxKind
from storage.tables import Outbox
from tests.adapters.slack.conftest import ADMIN, MENTOR, STUDENT, Harness, push_checkin
from tests.tick import PERSONAL_DATA

WORDS = "slack-erasure-words-about-my-family"


async def test_delivered_copies_are_deleted_or_edited_on_slack(slack: Harness, clock) -> None:
    """Sam's check-in and Maya's alert about Sam are deleted; Avery's message naming Sam edited."""
    push_checkin(slack.db, clock)
    await slack.command(f"mood 1 {WORDS}")
    await slack.settle()
    with slack.db.session() as session:
        avery = person_by_email(session, "admin@example.edu")
        note = Message(text="Sam Student asked to move their session to Friday.")
        push_rows(session, [Push("test:avery", note, person=avery)], clock.now(), "UTC")
    await slack.delivery.deliver_once(["slack"])
    [checkin] = slack.dm_messages(STUDENT)
    [alert] = slack.dm_messages(MENTOR)
    [to_avery] = slack.dm_messages(ADMIN)
    assert "Sam Student" in alert.text and "Sam Student" in to_avery.text
    slack.fake.clear()

    with slack.db.session() as session:
        sam = person_by_email(session, "sam@example.edu")
        assert sam is not None
        report = erase_person(
            session, sam, clock.now(), actor_id=None, via="test", tables=PERSONAL_DATA
        )
    assert report.copies == {"slack": 3}
    stats = await slack.delivery.deliver_once(["slack"])

    assert stats.sent == 3 and stats.failed == 0
    deleted = {
        (c.json_params["channel"], c.json_params["ts"]) for c in slack.fake.calls_to("chat.delete")
    }
    assert deleted == {(checkin.channel, checkin.ts), (alert.channel, alert.ts)}
    assert slack.dm_messages(STUDENT) == [] and slack.dm_messages(MENTOR) == []
    [edited] = slack.dm_messages(ADMIN)
    assert edited.ts == to_avery.ts
    assert "Sam Student" not in edited.text and REMOVED in edited.text
    assert "Friday" in edited.text  # the rest of Avery's message stays
    # Nothing new was posted: the copies were acted on in place.
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_a_message_the_bot_did_not_write_is_refused_and_the_admins_told(
    slack: Harness, clock
) -> None:
    """chat.delete of a person's own message fails (cant_delete_message); admins are told."""
    push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    dm = slack.fake.dm_channel_id(STUDENT)
    theirs = slack.fake.add_user_message(dm, STUDENT, WORDS)
    with slack.db.session() as session:
        session.add(
            Outbox(
                dedupe_key="test:copy",
                platform="slack",
                channel_id=dm,
                platform_message_id=theirs.ts,
                kind=OutboxKind.COPY_DELETE,
                payload=Message(text="").to_json(),
                next_attempt_at=clock.now(),
                created_at=clock.now(),
            )
        )
    stats = await slack.delivery.deliver_once(["slack"])

    assert stats.failed == 1
    assert not theirs.deleted
    with slack.db.session() as session:
        row = session.exec(select(Outbox).where(Outbox.dedupe_key == "test:copy")).one()
        assert row.status == "failed" and "cant_delete_message" in (row.last_error or "")
        notices = session.exec(select(Outbox).where(col(Outbox.kind) == "delivery_notice")).all()
    texts = [Message.from_json(n.payload).text for n in notices]
    assert texts and all("Please delete it by hand" in t and theirs.ts in t for t in texts)
    assert not any(WORDS in t for t in texts)  # the notice names the message, not its words


async def test_a_copy_already_gone_counts_as_removed(slack: Harness, clock) -> None:
    """A message someone deleted meanwhile (message_not_found) is done, not a failure."""
    push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    [checkin] = slack.dm_messages(STUDENT)
    checkin.deleted = True
    with slack.db.session() as session:
        sam = person_by_email(session, "sam@example.edu")
        assert sam is not None
        erase_person(session, sam, clock.now(), actor_id=None, via="test", tables=PERSONAL_DATA)
    stats = await slack.delivery.deliver_once(["slack"])
    assert (stats.sent, stats.failed) == (1, 0)
