"""Services part B in the reader's language: group posts in the group's, DMs in each person's."""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta

from sqlmodel import col, select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.i18n import _, speaking
from bot.model import Message
from bot.people import person_by_email
from bot.services import pairing, prompt_answers, prompts
from bot.services.groups import group_named
from bot.services.roster import import_roster, parse_roster
from storage.db import Database
from storage.tables import Group, Outbox, Person, PromptAnswer
from tests.scheduling.world import add_students, schedule, set_watermark, tick, utc
from tests.scheduling.world import outbox as outbox_of

STUDY = "Study skills"
PEERS = "Peer group"


def rows(db: Database, kind: str) -> list[Outbox]:
    with db.session() as session:
        found = session.exec(
            select(Outbox).where(Outbox.kind == kind).order_by(col(Outbox.id))
        ).all()
        for row in found:
            session.expunge(row)
        return list(found)


def speaks(db: Database, email: str, language: str) -> int:
    with db.session() as session:
        person = person_by_email(session, email)
        assert person is not None and person.id is not None
        person.language = language
        session.add(person)
        return person.id


# ---------------------------------------------------------------- group prompts


def first_post(now: datetime) -> datetime:
    """A minute after the first 10:30 UTC after `now`: the tick that posts it."""
    at = now.replace(hour=10, minute=30, second=0, microsecond=0)
    return (at if at > now else at + timedelta(days=1)) + timedelta(minutes=1)


def test_a_prompt_posted_in_a_spanish_group_is_spanish(
    demo: Database, core_settings: CoreSettings, clock: FixedClock
) -> None:
    """The channel post's words and buttons are Spanish; the mentor's own text is left as is."""
    now = clock.now()
    with demo.session() as session:
        group = group_named(session, STUDY)
        group.platform, group.channel_id, group.language = "slack", "C0STUDY001", "es"
        session.add(group)
        prompts.add_prompt(
            session,
            core_settings,
            None,
            prompts.PromptSpec(STUDY, "*", "10:30", "Share one win", "UTC"),
            now,
        )
    with demo.session() as session:
        prompts.post_due_prompts(session, core_settings, now, first_post(now))
    [row] = rows(demo, "prompt")
    message = Message.from_json(row.payload)
    assert message.language == "es"
    assert message.text.startswith("Share one win\n\n🧵 Pulsa Responder para contestar")
    assert "con lo que dijo el grupo (con nombres)" in message.text
    assert [c.label for c in message.choices] == ["Responder"]


def test_a_prompt_by_dm_speaks_each_students_language(
    demo: Database, core_settings: CoreSettings, clock: FixedClock
) -> None:
    """A group without a channel: each student's DM is in their own language."""
    now = clock.now()
    with demo.session() as session:
        group = group_named(session, STUDY)
        assert group.id is not None
        group.language = "es"  # the group's language is for its channel, not for DMs
        session.add(group)
        students = [
            p
            for p in session.exec(select(Person).where(Person.role == "student")).all()
            if p.id is not None
        ]
        prompts.add_prompt(
            session,
            core_settings,
            None,
            prompts.PromptSpec(STUDY, "*", "10:30", "Share one win", "UTC"),
            now,
        )
    speaks(demo, "sam@example.edu", "fr")
    with demo.session() as session:
        prompts.post_due_prompts(session, core_settings, now, first_post(now))
    sent = {row.person_id: Message.from_json(row.payload) for row in rows(demo, "prompt")}
    with demo.session() as session:
        sam = person_by_email(session, "sam@example.edu")
    assert sam is not None and sam.id in sent and len(students) >= 1
    assert sent[sam.id].language == "fr"
    assert "Appuie sur Répondre" in sent[sam.id].text
    others = [m for pid, m in sent.items() if pid != sam.id]
    assert others and all(m.language == "en" for m in others)
    assert all("Press Answer to reply" in m.text for m in others)


def test_a_prompt_summary_in_a_chinese_group_counts_in_chinese(
    demo: Database, core_settings: CoreSettings, clock: FixedClock
) -> None:
    """The summary in the thread is built in the group's language; the answers stay as written."""
    now = clock.now()
    with demo.session() as session:
        group = group_named(session, STUDY)
        group.platform, group.channel_id, group.language = "slack", "C0STUDY001", "zh_Hans"
        session.add(group)
        prompt = prompts.add_prompt(
            session,
            core_settings,
            None,
            prompts.PromptSpec(STUDY, "*", "10:30", "Share one win", "UTC"),
            now,
        )
        round_id = prompt_answers.open_round(session, prompt, now.date(), now)
        sam = person_by_email(session, "sam@example.edu")
        assert sam is not None and sam.id is not None
        session.add(
            PromptAnswer(
                round_id=round_id,
                person_id=sam.id,
                text="I finished my essay",
                safety_level="none",
                answered_at=now,
            )
        )
    with demo.session() as session:
        prompt_answers.close_due_rounds(session, core_settings, now + timedelta(days=2))
    [row] = [r for r in rows(demo, "prompt") if r.dedupe_key.startswith("prompt-summary:")]
    message = Message.from_json(row.payload)
    assert message.language == "zh_Hans"
    assert message.title == f"💬 {STUDY} 说了什么"
    assert message.text.startswith("“Share one win”：1 条回答。")
    assert "I finished my essay" in message.text


# ---------------------------------------------------------------- peer pairing


def peer_group(db: Database, clock: FixedClock, count: int = 4) -> list[str]:
    """A group of console students (so each gets their own DM introduction)."""
    emails = [f"p{i}@example.edu" for i in range(1, count + 1)]
    lines = "".join(
        f"{email},Peer {i},student,Europe/London,maya@example.edu,,{PEERS},,\n"
        for i, email in enumerate(emails, start=1)
    )
    header = (
        "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
        "discord_user_id\n"
    )
    with db.session() as session:
        import_roster(session, parse_roster(io.StringIO(header + lines).read()), clock.now())
    return emails


def test_a_pairing_intro_to_a_korean_student_is_korean(
    demo: Database, core_settings: CoreSettings, clock: FixedClock
) -> None:
    """Each DM introduction speaks its reader's language; the starter is translated too."""
    emails = peer_group(demo, clock)
    korean = speaks(demo, emails[0], "ko")
    with demo.session() as session:
        group = group_named(session, PEERS)
        pairing.open_round(session, core_settings, group, clock.now(), rng=random.Random(4))
    intros = {r.person_id: Message.from_json(r.payload) for r in rows(demo, "pairing_intro")}
    assert len(intros) == 4
    mine = intros.pop(korean)
    assert mine.language == "ko"
    assert mine.title == f"🤝 동료 짝: {PEERS}"
    assert mine.text.startswith("안녕하세요, Peer 1! ")
    assert "대화 시작 질문: " in mine.text and "conversation starter" not in mine.text
    with speaking("ko"):
        assert any(_(s) in mine.text for s in pairing.STARTERS)
    assert all(m.language == "en" and m.text.startswith("Hi Peer ") for m in intros.values())


def test_a_shared_intro_speaks_the_pairs_language_else_the_groups(
    core_settings: CoreSettings,
) -> None:
    """A pair sharing a conversation: their common language, else the group's."""
    group = Group(id=1, name=PEERS, pairing_weeks=1, language="de")
    round_ = pairing.PairingRound(id=9, group_id=1, number=1)
    ana = Person(id=1, name="Ana", email="ana@example.edu", role="student", language="es")
    ben = Person(id=2, name="Ben", email="ben@example.edu", role="student", language="es")
    cai = Person(id=3, name="Cai", email="cai@example.edu", role="student", language="fr")
    slack = {1: {"slack": "U1"}, 2: {"slack": "U2"}, 3: {"slack": "U3"}}
    starter = pairing.STARTERS[0]
    [same] = pairing.intro_pushes(core_settings, group, round_, 5, [ana, ben], slack, starter)
    assert same.message.language == "es"
    assert "¡Hola, Ana y Ben! Son la pareja de esta ronda" in same.message.text
    assert "en la próxima semana" in same.message.text
    [mixed] = pairing.intro_pushes(core_settings, group, round_, 6, [ana, cai], slack, starter)
    assert mixed.message.language == "de"
    assert mixed.message.text.startswith("Hallo Ana und Cai! Ihr seid das Tandem dieser Runde")


# ---------------------------------------------------------------- plurals


def test_a_pluralised_count_in_arabic_takes_each_of_the_six_forms() -> None:
    """Arabic's zero, one, two, few, many and other each read differently."""
    group = Group(name="G")
    with speaking("ar"):
        said = {n: pairing._too_few(group, n).message for n in (0, 1, 2, 3, 11, 100)}
    assert "طالب واحد" in said[1] and "1" not in said[1]
    assert "طالبان" in said[2]
    assert "3 طلاب" in said[3]
    assert "11 طالبًا" in said[11]
    assert "100 طالب " in said[100] and "0 طالب " in said[0]
    assert len(set(said.values())) == 6


def test_english_keeps_its_words_for_counts() -> None:
    """English is unchanged: one student, students, and "(s)" wherever it said so before."""
    group = Group(name="G")
    assert pairing._too_few(group, 1).message.startswith("G has 1 student who can be paired")
    assert pairing._too_few(group, 3).message.startswith("G has 3 students who can be paired")
    summary = pairing.PairingSummary(rounds=1, pairs=2, met=1, not_yet=0, no_answer=1)
    assert summary.line() == "1 round(s), 2 pair(s): 1 met, 0 didn't meet, 1 no answer."


# ---------------------------------------------------------------- the check-in fan-out


def test_the_occurrence_fan_out_renders_one_template_per_language(db: Database) -> None:
    """Every student's scheduled prompt is rendered in their own language."""
    schedule(db, days="*", local_time="09:00")
    ids = add_students(db, 4)
    with db.session() as session:
        for person_id, language in zip(ids, ("es", "ar", None, "es"), strict=True):
            person = session.get(Person, person_id)
            assert person is not None
            person.language = language
            session.add(person)
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    tick(db, utc(2026, 11, 23, 9, 0))
    languages = {
        row.person_id: Message.from_json(row.payload).language for row in outbox_of(db, "checkin")
    }
    assert languages == dict(zip(ids, ("es", "ar", "en", "es"), strict=True))


def test_a_stuck_goal_alert_reason_is_in_the_mentors_language(
    demo: Database, core_settings: CoreSettings, clock: FixedClock
) -> None:
    """The stored reason is written in the language of the mentor who reads it."""
    from bot.services import goals, nudges
    from storage.tables import Alert

    now = clock.now()
    speaks(demo, "maya@example.edu", "fr")
    with demo.session() as session:
        sam = person_by_email(session, "sam@example.edu")
        assert sam is not None
        then = now - timedelta(weeks=5)
        goals.add_goal(session, sam, "Read chapter 3", None, then, then.date())
    with demo.session() as session:
        assert nudges.flag_stuck_goals(session, core_settings, now) >= 1
        reasons = [a.reason for a in session.exec(select(Alert)).all()]
    assert any(r.startswith("Aucun progrès sur l'objectif « Read chapter 3 »") for r in reasons)
