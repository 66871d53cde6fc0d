"""Erasure leftovers and retention: short names, group rows, delivered copies, stale rows.

Al and Bo have names shorter than the free-text search's minimum; erasure must still find
Al's name wherever the bot wrote it, take Al's platform id out of group conversations, queue
the deletion (or editing) of delivered copies, and tell Al the truth about what remains.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.model import Message, PermanentDeliveryError, Recipient, SendResult
from bot.outbox import Push, push_rows
from bot.people import person_by_email
from bot.services import privacy
from bot.services.alerts import record_event
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.pairing import open_round
from bot.services.roster import import_roster, parse_roster
from storage.db import Database
from storage.enums import OutboxKind
from storage.tables import (
    Alert,
    AlertEvent,
    AuditLog,
    Group,
    Identity,
    Outbox,
    Person,
    ProcessedEvent,
)
from tests.conftest import Chat, find_choice, text_of
from tests.dbdump import text_values
from tests.tick import PERSONAL_DATA

AL = "al@example.edu"
AL_SLACK = "U0AL000001"
AL_DM = "D0AL000001"
BO_SLACK = "U0BO000001"
AL_WORDS = "al-private-words-about-home"
ROSTER = f"""email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id
maya@example.edu,Maya Mentor,mentor,Europe/London,,,,U0MAYA0001
al@example.edu,Al,student,Europe/London,maya@example.edu,admin@example.edu,Pair,{AL_SLACK}
bo@example.edu,Bo,student,Europe/London,maya@example.edu,admin@example.edu,Pair,{BO_SLACK}
"""
# Al's name as a whole word: "Alex" and "Alert" don't count, "Hi Al!" does.
AL_NAME = re.compile(r"(?<!\w)Al(?!\w)")


class Refusing:
    """A Slack messenger stand-in that refuses every send (to make a delivery notice)."""

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Refuse, as Slack does for a deactivated account."""
        raise PermanentDeliveryError("account_inactive")


@pytest.fixture
def al(core: MentorBot, clock: FixedClock) -> Chat:
    """Al (and Bo) enrolled with Slack ids in the group Pair; Al chats through the console."""
    with core.db.session() as session:
        import_roster(session, parse_roster(ROSTER), clock.now())
        person = person_by_email(session, AL)
        assert person is not None
        # Al's DM with the bot is known, as after a first push.
        identity = session.exec(select(Identity).where(Identity.user_id == AL_SLACK)).one()
        identity.dm_channel_id = AL_DM
        session.add(identity)
    return Chat(core, AL)


def _person_id(db: Database, email: str) -> int:
    with db.session() as session:
        person = person_by_email(session, email)
        assert person is not None and person.id is not None
        return person.id


def _pair_al_and_bo(core: MentorBot, settings: CoreSettings) -> None:
    """A pairing round in Pair: Al and Bo, introduced together in a Slack group DM."""
    with core.db.session() as session:
        group = session.exec(select(Group).where(Group.name == "Pair")).one()
        outcome = open_round(session, settings, group, core.clock.now(), rng=random.Random(3))
        assert outcome is not None and outcome.intros == 1


def _mark_sent(db: Database, where: object, channel: str, ts: str) -> None:
    """Record rows as delivered to `channel` with message id `ts` (as the delivery loop does)."""
    with db.session() as session:
        for row in session.exec(select(Outbox).where(where)).all():  # type: ignore[arg-type]
            row.status = "sent"
            row.platform_channel_id = channel
            row.platform_message_id = ts
            session.add(row)


def _erase(db: Database, email: str, now: object) -> privacy.ErasureReport:
    with db.session() as session:
        person = person_by_email(session, email)
        assert person is not None
        return privacy.erase_person(
            session, person, now, actor_id=None, via="test", tables=PERSONAL_DATA
        )  # type: ignore[arg-type]


def _naming_al(values: Sequence[tuple[str, str, str]]) -> list[tuple[str, str]]:
    return [(t, c) for t, c, v in values if AL_NAME.search(v) and (t, c) != ("person", "email")]


def _fill_al(core: MentorBot, al: Chat, core_settings: CoreSettings) -> None:
    """Al writes, gets alerts raised and is paired; Maya hears of a failed delivery to Al."""
    al.send(f"/mood 1 {AL_WORDS}")  # a low-mood alert to Maya and the admin, naming Al
    _pair_al_and_bo(core, core_settings)
    with core.db.session() as session:
        alert = session.exec(select(Alert)).first()
        assert alert is not None
        # A re-escalation's event names who it went to; here (a test) Al, to be found.
        record_event(session, alert, core.clock.now(), "escalated", detail="sent to Al")
        session.add(
            AuditLog(at=core.clock.now(), action="test.note", detail="looked up Al, then Bo")
        )


async def test_short_name_is_erased_from_everything(
    core: MentorBot, al: Chat, core_settings: CoreSettings
) -> None:
    """After erasing "Al", no stored text names Al as a word (Bo and "Alex" are untouched)."""
    _fill_al(core, al, core_settings)
    # A failed push to Al makes the delivery loop tell Al's mentors, naming Al.
    with core.db.session() as session:
        person = person_by_email(session, AL)
        push_rows(
            session,
            [Push(dedupe_key="test:nudge", message=Message(text="Goal nudge"), person=person)],
            core.clock.now(),
            "UTC",
        )
    delivery = OutboxDelivery(
        core.db,
        {"slack": Refusing()},
        core.clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    await delivery.deliver_once(["slack"])
    before = _naming_al(text_values(core.db))
    assert {t for t, _ in before} >= {"outbox", "alert_event", "audit_log", "person"}

    _erase(core.db, AL, core.clock.now())

    assert _naming_al(text_values(core.db)) == []
    values = [v for _, _, v in text_values(core.db)]
    assert not any(AL_WORDS in v for v in values)
    assert any(v == "looked up [removed], then Bo" for v in values)


async def test_non_ascii_name_is_found_in_json_payloads(core: MentorBot, clock: FixedClock) -> None:
    """A name like "Zoë" (JSON-escaped in a payload) is still found and removed."""
    roster = (
        "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n"
        "zoe@example.edu,Zoë,student,Europe/London,maya@example.edu,,\n"
    )
    with core.db.session() as session:
        import_roster(session, parse_roster(roster), clock.now())
    Chat(core, "zoe@example.edu").send("/mood 1")
    with core.db.session() as session:
        maya = person_by_email(session, "maya@example.edu")
        push_rows(
            session,
            [Push(dedupe_key="t:zoe", message=Message(text="Zoë asked for you"), person=maya)],
            clock.now(),
            "UTC",
        )
    _erase(core.db, "zoe@example.edu", clock.now())
    assert not any("Zoë" in v for _, _, v in text_values(core.db))


async def test_group_rows_lose_the_erased_platform_id(
    core: MentorBot, al: Chat, core_settings: CoreSettings
) -> None:
    """The pairing's group conversation keeps Bo's id and loses Al's, in every row."""
    _pair_al_and_bo(core, core_settings)
    with core.db.session() as session:
        [intro] = session.exec(select(Outbox).where(Outbox.kind == "pairing_intro")).all()
        assert set((intro.member_ids or "").split(",")) == {AL_SLACK, BO_SLACK}
        intro_id = intro.id

    _erase(core.db, AL, core.clock.now())

    with core.db.session() as session:
        intro = session.get(Outbox, intro_id)
        assert intro is not None and intro.member_ids == BO_SLACK
        assert intro.status == "pending"  # Bo still gets the introduction
    for table, column, value in text_values(core.db):
        assert AL_SLACK not in value and AL_DM not in value, f"{table}.{column}"


async def test_delivered_copies_are_queued_for_deletion_or_editing(
    core: MentorBot, al: Chat, core_settings: CoreSettings
) -> None:
    """Copies about Al are deleted; a shared copy naming Al is edited; the report counts them."""
    al.send(f"/mood 1 {AL_WORDS}")
    _pair_al_and_bo(core, core_settings)
    maya_id = _person_id(core.db, "maya@example.edu")
    _mark_sent(core.db, col(Outbox.person_id) == maya_id, "D0MAYA0001", "1700000000.000100")
    _mark_sent(core.db, col(Outbox.kind) == "pairing_intro", "G0PAIR0001", "1700000000.000200")
    al_id = _person_id(core.db, AL)
    with core.db.session() as session:
        person = session.get(Person, al_id)
        assert person is not None
        # Al last wrote through the console driver; this reminder is to his Slack DM.
        person.preferred_platform = "slack"
        reminder = Message(text="How did the week go?")
        push_rows(session, [Push("test:al", reminder, person=person)], core.clock.now(), "UTC")
    _mark_sent(core.db, col(Outbox.person_id) == al_id, AL_DM, "1700000000.000300")

    report = _erase(core.db, AL, core.clock.now())

    with core.db.session() as session:
        copies = session.exec(
            select(Outbox).where(
                col(Outbox.kind).in_([OutboxKind.COPY_DELETE, OutboxKind.COPY_EDIT])
            )
        ).all()
    deletes = {
        (c.channel_id, c.platform_message_id) for c in copies if c.kind == OutboxKind.COPY_DELETE
    }
    edits = [c for c in copies if c.kind == OutboxKind.COPY_EDIT]
    assert ("D0MAYA0001", "1700000000.000100") in deletes
    assert (AL_DM, "1700000000.000300") in deletes
    [edit] = edits
    assert (edit.channel_id, edit.platform_message_id) == ("G0PAIR0001", "1700000000.000200")
    text = Message.from_json(edit.payload).text
    assert not AL_NAME.search(text) and "Bo" in text and privacy.REMOVED in text
    assert all(c.status == "pending" and c.person_id is None for c in copies)
    assert report.copies == {"slack": len(copies)}


async def test_the_student_is_told_what_is_being_removed_and_what_cannot_be(
    core: MentorBot, al: Chat
) -> None:
    """The confirmation counts queued copies and names what stays; no "everything is gone"."""
    al.send(f"/mood 1 {AL_WORDS}")
    maya_id = _person_id(core.db, "maya@example.edu")
    _mark_sent(core.db, col(Outbox.person_id) == maya_id, "D0MAYA0001", "1700000000.000100")
    prompt = al.send("/mydata delete")
    reply = al.press(find_choice(prompt, "Yes, delete everything"))
    said = text_of(reply)
    assert "deleting or editing the 1 message(s) I had sent on Slack" in said
    assert "What I can't remove" in said and "you typed yourself" in said
    assert "forwarded" in said
    assert "everything stored about you has been deleted, and" not in said


def test_notice_without_copies_does_not_mention_a_deletion_in_progress() -> None:
    """With nothing delivered, the notice says nothing about deleting copies."""
    said = privacy.erasure_notice(privacy.ErasureReport(counts={"moods": 1}))
    assert "deleting or editing" not in said and "What I can't remove" in said
    left = privacy.erasure_notice(privacy.ErasureReport(copies_left={"console": 2}))
    assert "2 message(s) I sent on the terminal can't be deleted" in left


# ---------------------------------------------------------------- retention


def test_retention_purges_old_processed_events_and_keeps_the_replay_window(
    core: MentorBot, clock: FixedClock
) -> None:
    """Event ids (and request signatures) go after PROCESSED_EVENT_DAYS; recent ones stay."""
    now = clock.now()
    with core.db.session() as session:
        for days, event_id in ((8, "old"), (6, "recent"), (0, "sig:new")):
            session.add(
                ProcessedEvent(platform="slack", event_id=event_id, at=now - timedelta(days=days))
            )
    with core.db.session() as session:
        privacy.purge_expired_text(
            session, CoreSettings(retention_days=365), now, tables=PERSONAL_DATA
        )
    with core.db.session() as session:
        kept = set(session.exec(select(ProcessedEvent.event_id)).all())
    assert kept == {"recent", "sig:new"}


def test_retention_empties_old_alert_reasons_and_event_details(
    core: MentorBot, sam: Chat, clock: FixedClock
) -> None:
    """A year on, an alert keeps its kind and times; its reason and event details go."""
    sam.send("/mood 1 rough")
    with core.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        assert alert.reason != alert.kind
        assert any(e.detail for e in session.exec(select(AlertEvent)).all())
    clock.advance(days=200)
    sam.send("/help please call")  # a newer alert, inside the retention period
    clock.advance(days=200)
    with core.db.session() as session:
        privacy.purge_expired_text(
            session, CoreSettings(retention_days=365), clock.now(), tables=PERSONAL_DATA
        )
    with core.db.session() as session:
        alerts = session.exec(select(Alert).order_by(col(Alert.id))).all()
        old, new = alerts[0], alerts[-1]
        assert old.reason == old.kind and new.reason != new.kind
        events = session.exec(select(AlertEvent)).all()
        assert all(e.detail == "" for e in events if e.alert_id == old.id)
        assert any(e.detail for e in events if e.alert_id == new.id)


def test_erasure_leaves_other_people_alone(core: MentorBot, al: Chat) -> None:
    """Bo's row, name and email are untouched by Al's erasure; Al's row is anonymised."""
    al_id = _person_id(core.db, AL)
    _erase(core.db, AL, core.clock.now())
    with core.db.session() as session:
        bo = person_by_email(session, "bo@example.edu")
        assert bo is not None and bo.name == "Bo"
        erased = session.get(Person, al_id)
        assert erased is not None and erased.name == privacy.ERASED_NAME
