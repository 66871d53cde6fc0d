"""Group prompts that listen: answers through the core, screening, the close and the summary.

Through `MentorBot.handle` (the same path every adapter takes), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.model import Inbound, Message, Reply
from bot.people import person_by_email
from bot.services import prompt_answers as answers
from bot.services import prompts
from bot.services.groups import group_named
from bot.services.privacy import erase_person
from bot.services.roster import import_roster, parse_roster
from storage.db import Database
from storage.enums import OutboxStatus
from storage.tables import Alert, Outbox, PromptAnswer, PromptRound
from tests.conftest import Chat, text_of
from tests.dbdump import raw_text_values, snapshot
from tests.tick import PERSONAL_DATA, run_due_work

GROUP = "Study skills"
CHANNEL = ("slack", "C0STUDY001")
POSTED_AT = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
CRISIS_TEXT = "honestly i want to kill myself"
EXTRA = [f"s{i}@example.edu" for i in range(1, 5)]


@pytest.fixture
def group(core: MentorBot, clock: FixedClock) -> MentorBot:
    """Study skills bound to a Slack channel, with four more students (six in all)."""
    rows = "".join(
        f"{email},Student {email[1]},student,Europe/London,maya@example.edu,,{GROUP}\n"
        for email in EXTRA
    )
    with core.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n" + rows
            ),
            clock.now(),
        )
        found = group_named(session, GROUP)
        found.platform, found.channel_id = CHANNEL
        session.add(found)
    return core


def post(core: MentorBot, clock: FixedClock, settings: CoreSettings, options: str = "") -> int:
    """Maya adds a daily 10:30 prompt; the tick posts it; its post counts as sent. The round id."""
    maya = Chat(core, "maya@example.edu")
    reply = maya.send(f"/prompt add {GROUP} * 10:30 UTC {options} Share one win".replace("  ", " "))
    assert reply.error is None, text_of(reply)
    clock.set(POSTED_AT)
    run_due_work(core.db, settings, clock.now())
    with core.db.session() as session:
        [found] = session.exec(select(PromptRound)).all()
        [row] = session.exec(select(Outbox).where(Outbox.dedupe_key.startswith("prompt:"))).all()
        # As the delivery loop records a sent channel post.
        row.status, row.platform_message_id = OutboxStatus.SENT, "1700000000.000100"
        row.platform_channel_id = CHANNEL[1]
        session.add(row)
        assert found.id is not None
        return found.id


def answer(core: MentorBot, email: str, round_id: int, text: str) -> Chat:
    """`email` submits the answer form."""
    chat = Chat(core, email)
    chat.form(answers.ANSWER_FORM, round=str(round_id), answer=text)
    return chat


def press(core: MentorBot, email: str, action: str, **args: str) -> Reply:
    """`email` presses a button carrying `action` and `args`."""
    return core.handle(Inbound(Chat(core, email).actor, "action", action, args))


def stored(db: Database) -> list[PromptAnswer]:
    with db.session() as session:
        rows = session.exec(select(PromptAnswer)).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def close(core: MentorBot, clock: FixedClock, settings: CoreSettings) -> list[Outbox]:
    """Move past the close and tick twice; the summary-side outbox rows."""
    clock.set(POSTED_AT + timedelta(hours=24, minutes=1))
    run_due_work(core.db, settings, clock.now())
    run_due_work(core.db, settings, clock.now())
    with core.db.session() as session:
        rows = session.exec(
            select(Outbox).where(
                Outbox.dedupe_key.startswith("prompt-summary")
                | Outbox.dedupe_key.startswith("prompt-withheld")
            )
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def test_the_post_carries_an_answer_button_for_its_round(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """The channel post has one Answer button naming its round, and says when it closes."""
    round_id = post(group, clock, core_settings)
    with group.db.session() as session:
        row = session.exec(select(Outbox).where(Outbox.dedupe_key.startswith("prompt:"))).one()
        message = Message.from_json(row.payload)
    [button] = message.choices
    assert (button.label, button.action, button.args_dict()) == (
        "Answer",
        answers.ANSWER_ACTION,
        {"round": str(round_id)},
    )
    assert "Tue 24 Nov 10:30" in message.text and "with names" in message.text


def test_an_answer_is_stored_sealed_acknowledged_privately_and_editable(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Thanks privately with Edit and Withdraw; a second submission replaces the first."""
    round_id = post(group, clock, core_settings)
    sam = Chat(group, "sam@example.edu")
    assert press(group, sam.email, answers.ANSWER_ACTION, round=str(round_id)).error is None
    reply = sam.form(answers.ANSWER_FORM, round=str(round_id), answer="Finished my essay plan")
    assert reply.error is None, text_of(reply)
    [thanks] = reply.messages
    assert thanks.private and "saved" in thanks.text and "with your name" in thanks.text
    assert [c.label for c in thanks.choices] == ["Edit", "Withdraw"]
    sam.form(answers.ANSWER_FORM, round=str(round_id), answer="Finished my essay, all of it")
    assert "updated" in text_of(sam.last)
    [row] = stored(group.db)
    assert row.text == "Finished my essay, all of it" and row.safety_level == "none"
    assert not any("essay" in raw for raw in raw_text_values(group.db, "prompt_answer", "text"))


def test_an_answer_can_be_withdrawn_before_the_close(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Withdraw deletes the answer; nothing is left to share."""
    round_id = post(group, clock, core_settings)
    sam = answer(group, "sam@example.edu", round_id, "A win")
    reply = sam.press("Withdraw")
    assert "withdrawn" in text_of(reply)
    assert stored(group.db) == []
    assert close(group, clock, core_settings) == []


def test_a_crisis_answer_alerts_and_is_never_shared(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """The crisis card and an urgent alert, as in a DM; the summary leaves the answer out."""
    round_id = post(group, clock, core_settings)
    answer(group, "sam@example.edu", round_id, "Passed my driving test")
    alex = answer(group, "alex@example.edu", round_id, CRISIS_TEXT)
    reply = alex.last
    assert reply is not None and reply.messages[0].urgent
    assert "You don't have to face this alone" in text_of(reply)
    assert "saved" not in text_of(reply)  # nothing cheerful after the crisis card
    with group.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        assert alert.kind == "crisis" and alert.severity == "urgent"
    by_person = {a.text: a.safety_level for a in stored(group.db)}
    assert by_person[CRISIS_TEXT] == "crisis"
    [summary] = close(group, clock, core_settings)
    text = Message.from_json(summary.payload).text
    assert "Sam Student: Passed my driving test" in text
    assert CRISIS_TEXT not in text and "Alex" not in text
    assert "1 answer." in text


def test_one_summary_with_names_goes_into_the_posts_thread(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """At the close one row, keyed per round, replying under the post; answers then freeze."""
    round_id = post(group, clock, core_settings)
    answer(group, "sam@example.edu", round_id, "Finished the essay")
    answer(group, "alex@example.edu", round_id, "Went running <!channel>")
    [summary] = close(group, clock, core_settings)
    assert summary.dedupe_key == f"prompt-summary:{round_id}"
    assert summary.channel_id == CHANNEL[1] and summary.user_id in ("", None)
    message = Message.from_json(summary.payload)
    assert message.reply_to == "1700000000.000100" and not message.private
    assert "Sam Student: Finished the essay" in message.text
    assert "Alex Student: Went running" in message.text
    late = answer(group, "s1@example.edu", round_id, "Too late")
    assert late.last is not None and "closed" in (late.last.error or "")


def test_an_anonymous_prompt_with_four_answers_is_withheld_and_mentors_get_the_count(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Fewer than MIN_GROUP_SIZE (5): no summary in the channel, the count to Maya only."""
    round_id = post(group, clock, core_settings, "anonymous")
    for index, email in enumerate(["sam@example.edu", "alex@example.edu", *EXTRA[:2]]):
        answer(group, email, round_id, f"anonymous win number {index}")
    [row] = close(group, clock, core_settings)
    assert row.dedupe_key.startswith("prompt-withheld:")
    with group.db.session() as session:
        maya = person_by_email(session, "maya@example.edu")
        assert maya is not None and row.person_id == maya.id
    text = Message.from_json(row.payload).text
    assert "closed with 4 answers" in text and "fewer than 5" in text
    assert "anonymous win" not in text
    with group.db.session() as session:
        found = session.get(PromptRound, round_id)
        assert found is not None and found.outcome == answers.WITHHELD


def test_an_anonymous_prompt_with_five_answers_is_shared_without_names(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Five answers: one summary, no names, not in answer order."""
    round_id = post(group, clock, core_settings, "anonymous")
    emails = ["sam@example.edu", "alex@example.edu", *EXTRA[:3]]
    for index, email in enumerate(emails):
        answer(group, email, round_id, f"win {'zyxwv'[index]}")
    [summary] = close(group, clock, core_settings)
    text = Message.from_json(summary.payload).text
    assert "5 answers" in text and "Student" not in text
    assert text.index("win v") < text.index("win z")  # sorted by words, not by time


def test_export_is_refused_for_an_anonymous_prompt(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """`/prompt export` of an anonymous prompt: a clear refusal, nothing read."""
    post(group, clock, core_settings, "anonymous")
    maya = Chat(group, "maya@example.edu")
    with group.db.session() as session:
        [found] = session.exec(select(PromptRound)).all()
        prompt_id = found.prompt_id
    reply = maya.send(f"/prompt export {prompt_id}")
    assert reply.error is not None and "anonymous" in reply.error


def test_a_pulse_question_takes_numbers_and_shares_a_distribution(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Buttons 1-5; five answers give a distribution (no names); words are refused."""
    round_id = post(group, clock, core_settings, "pulse")
    emails = ["sam@example.edu", "alex@example.edu", *EXTRA[:3]]
    for email, score in zip(emails, (4, 4, 2, 5, 4), strict=True):
        reply = press(group, email, answers.PULSE_ACTION, round=str(round_id), score=str(score))
        assert reply.error is None and f"you chose {score}" in text_of(reply)
    words = answer(group, "s4@example.edu", round_id, "four-ish")
    assert words.last is not None and "number" in (words.last.error or "")
    [summary] = close(group, clock, core_settings)
    text = Message.from_json(summary.payload).text
    assert "4  ███  3" in text and "2  █  1" in text and "1  ·  0" in text
    assert "Average 3.8 of 5." in text and "Student" not in text


def test_a_pulse_question_with_three_answers_is_withheld(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """The group-size rule holds for pulse distributions, named or not."""
    round_id = post(group, clock, core_settings, "pulse")
    for email in ("sam@example.edu", "alex@example.edu", EXTRA[0]):
        press(group, email, answers.PULSE_ACTION, round=str(round_id), score="1")
    [row] = close(group, clock, core_settings)
    assert row.dedupe_key.startswith("prompt-withheld:")
    assert "a pulse question" in Message.from_json(row.payload).text


@pytest.mark.parametrize(
    ("who", "text", "refusal"),
    [
        ("sam@example.edu", "   ", "empty"),
        ("sam@example.edu", "x" * 3_500, "under 3,000 characters"),
        ("sam@example.edu", "y" * 10_000, "too long"),
        ("maya@example.edu", "A mentor's answer", "only for students"),
        ("outsider@example.edu", "Not my group", "Only the students of Study skills"),
    ],
)
def test_bad_answers_are_refused_clearly_and_change_nothing(
    group: MentorBot,
    clock: FixedClock,
    core_settings: CoreSettings,
    who: str,
    text: str,
    refusal: str,
) -> None:
    """Empty, too long (ours, and the core's limit), not a student, not in the group."""
    round_id = post(group, clock, core_settings)
    with group.db.session() as session:
        import_roster(
            session,
            parse_roster("email,name,role\noutsider@example.edu,Olive Outsider,student\n"),
            clock.now(),
        )
    Chat(group, who).send("/help")  # linked first: first contact is not what is tested
    before = snapshot(group.db)
    chat = answer(group, who, round_id, text)
    assert chat.last is not None and chat.last.error is not None
    assert refusal.lower() in chat.last.error.lower()
    assert snapshot(group.db) == before


def test_answering_a_closed_or_unknown_prompt_is_refused(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """After the close (even before the tick ran), or a round that doesn't exist: refused."""
    round_id = post(group, clock, core_settings)
    clock.set(POSTED_AT + timedelta(hours=24))
    Chat(group, "sam@example.edu").send("/help")
    before = snapshot(group.db)
    for raw in (str(round_id), "999999", "99999999999999999999999"):
        reply = answer(group, "sam@example.edu", int(raw) if raw.isdigit() else 0, "Late").last
        assert reply is not None and reply.error is not None
    assert "closed" in (answer(group, "sam@example.edu", round_id, "x").last or pytest.fail()).error
    assert snapshot(group.db) == before


def test_staff_export_a_named_prompt_as_csv(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Maya gets a CSV of the latest round (crisis answers left out); the read is audited."""
    round_id = post(group, clock, core_settings)
    answer(group, "sam@example.edu", round_id, "=SUM(A1) my win")
    answer(group, "alex@example.edu", round_id, CRISIS_TEXT)
    with group.db.session() as session:
        prompt_id = session.exec(select(PromptRound.prompt_id)).one()
    reply = Chat(group, "maya@example.edu").send(f"/prompt export {prompt_id}")
    assert reply.error is None, text_of(reply)
    [message] = reply.messages
    assert message.attachment is not None and message.attachment.mime_type == "text/csv"
    rows = list(csv.reader(io.StringIO(str(message.attachment.content))))
    assert rows[0] == list(answers.CSV_COLUMNS)
    assert [(r[0], r[3]) for r in rows[1:]] == [("Sam Student", "'=SUM(A1) my win")]
    refused = Chat(group, "sam@example.edu").send(f"/prompt export {prompt_id}")
    assert refused.error is not None


def test_close_hours_is_per_prompt(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """`close_hours=2`: the round closes two hours after the post; a bad value is refused."""
    round_id = post(group, clock, core_settings, "close_hours=2")
    with group.db.session() as session:
        found = session.get(PromptRound, round_id)
        assert found is not None and found.closes_at == POSTED_AT + timedelta(hours=2)
    with pytest.raises(Exception, match="close_hours"):
        prompts.parse_add(f"{GROUP} * 10:30 close_hours=0 Text")


def test_erasure_takes_the_answer_and_its_words_out_of_an_anonymous_summary(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Erasing a student deletes their answer and scrubs their words from the summary post."""
    round_id = post(group, clock, core_settings, "anonymous")
    long_answer = "A long win that goes on.\n" + "and on " * 80
    emails = ["sam@example.edu", "alex@example.edu", *EXTRA[:3]]
    for index, email in enumerate(emails):
        answer(group, email, round_id, long_answer if index == 0 else f"short win {index}")
    [summary] = close(group, clock, core_settings)
    assert long_answer.strip() in Message.from_json(summary.payload).text
    with group.db.session() as session:
        sam = person_by_email(session, "sam@example.edu")
        assert sam is not None
        erase_person(session, sam, clock.now(), actor_id=None, via="test", tables=PERSONAL_DATA)
    with group.db.session() as session:
        row = session.get(Outbox, summary.id)
        assert row is not None
        text = Message.from_json(row.payload).text
        assert "goes on" not in text and "short win 1" in text
        assert (
            session.exec(select(PromptAnswer).where(PromptAnswer.person_id == sam.id)).all() == []
        )


def test_add_reads_its_options_before_the_text() -> None:
    """`anonymous`, `pulse` and `close_hours=N` lead the text, in any order; then the words."""
    spec = prompts.parse_add(f"{GROUP} fri 15:00 Europe/London pulse close_hours=6 anonymous How?")
    assert (spec.anonymous, spec.pulse, spec.close_hours, spec.timezone, spec.text) == (
        True,
        True,
        6,
        "Europe/London",
        "How?",
    )
    plain = prompts.parse_add(f"{GROUP} fri 15:00 Anonymous feedback welcome")
    assert not plain.anonymous and plain.text == "Anonymous feedback welcome"
    with pytest.raises(Exception, match="close_hours"):
        prompts.parse_add(f"{GROUP} fri 15:00 close_hours=999 Too long open")
