"""Oversized input is refused with a message and stores nothing, on every entry path."""

from __future__ import annotations

from bot.core import MentorBot
from bot.model import Actor, Inbound
from storage.tables import StudentMessage
from tests.conftest import Chat, text_of
from tests.dbdump import row_counts, snapshot

LIMIT = 4000


def assert_refused_and_nothing_stored(core: MentorBot, chat: Chat, inbound: Inbound) -> None:
    chat.send("/help")  # first contact links the account; not part of what is measured
    before = snapshot(core.db)
    reply = core.handle(inbound)
    assert "too long" in text_of(reply) and f"{LIMIT:,}" in text_of(reply)
    assert reply.error is not None
    assert snapshot(core.db) == before


def test_free_text_over_the_limit(core: MentorBot, sam: Chat) -> None:
    """A pasted essay as a message is refused and not kept."""
    inbound = Inbound(sam.actor, "text", "message", {}, "x" * (LIMIT + 1))
    assert_refused_and_nothing_stored(core, sam, inbound)


def test_a_check_in_note_over_the_limit(core: MentorBot, sam: Chat) -> None:
    """An oversized note while a check-in waits for one is not attached."""
    sam.send("/checkin")
    sam.press("3")
    inbound = Inbound(sam.actor, "text", "message", {}, "y" * (LIMIT + 1))
    assert_refused_and_nothing_stored(core, sam, inbound)


def test_command_text_over_the_limit(core: MentorBot, sam: Chat) -> None:
    """/mood with an oversized note logs no mood."""
    inbound = Inbound(sam.actor, "command", "mood", {}, "3 " + "z" * LIMIT)
    assert_refused_and_nothing_stored(core, sam, inbound)


def test_a_command_typed_as_text_over_the_limit(core: MentorBot, maya: Chat) -> None:
    """'/note EMAIL <essay>' typed as a message stores no note."""
    inbound = Inbound(maya.actor, "text", "message", {}, "/note sam@example.edu " + "n" * LIMIT)
    assert_refused_and_nothing_stored(core, maya, inbound)


def test_a_form_field_over_the_limit(core: MentorBot, sam: Chat) -> None:
    """A goal form with an oversized title adds no goal."""
    inbound = Inbound(sam.actor, "form", "goal.add", {"title": "g" * (LIMIT + 1), "due": ""})
    assert_refused_and_nothing_stored(core, sam, inbound)


def test_form_fields_that_together_exceed_the_limit(core: MentorBot, sam: Chat) -> None:
    """The limit counts all of a form's text, so splitting an essay across fields fails too."""
    half = "h" * (LIMIT // 2 + 1)
    inbound = Inbound(sam.actor, "form", "goal.add", {"title": half, "due": half})
    assert_refused_and_nothing_stored(core, sam, inbound)


def test_text_exactly_at_the_limit_is_kept(core: MentorBot, sam: Chat) -> None:
    """4,000 characters is still fine: the message is kept."""
    sam.send("/help")
    before = row_counts(core.db)["student_message"]
    reply = core.handle(Inbound(sam.actor, "text", "message", {}, "k" * LIMIT))
    assert reply.error is None
    assert row_counts(core.db)["student_message"] == before + 1
    with core.db.session() as session:
        from sqlmodel import select

        assert len(session.exec(select(StudentMessage)).one().text) == LIMIT


def test_unknown_users_with_huge_input_get_only_the_enrolment_answer(core: MentorBot) -> None:
    """Someone not enrolled gets 'not enrolled' whatever they send, and nothing is stored."""
    before = snapshot(core.db)
    stranger = Actor("console", "local", "nobody@example.edu")
    reply = core.handle(Inbound(stranger, "text", "message", {}, "q" * 100_000))
    assert "not enrolled" in text_of(reply)
    assert snapshot(core.db) == before
