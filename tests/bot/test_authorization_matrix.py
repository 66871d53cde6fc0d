"""The authorization matrix: every command, action and form, for every kind of actor.

The cases are generated from the registry's commands, actions and forms themselves, so a new
entry point without a row in MATRIX fails here. For each (entry, actor):

- allowed: the reply is not an error; reads of Sam's data by staff are audited;
- refused: the core logs a refusal and the database is exactly as before (every row of
  every table compared, not just counts);
- unknown users get the "not enrolled" answer and change nothing;
- nobody who may not see Sam's data finds any of it in their reply (attachments included),
  and mentors' notes never reach a student at all.

The actors: Sam (the subject), Alex (another student), Maya (Sam's mentor), Olly (a mentor
with no students and no groups), Ada (an admin with no assignments) and an unknown user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.auth import allowed_roles
from bot.core import NOT_ENROLLED, MentorBot
from bot.model import Actor, Inbound, Reply
from bot.people import person_by_email
from bot.registry import Command, Feature, Registry
from bot.services import goals as goal_service
from bot.services import mood as mood_service
from bot.services.alerts import raise_alert
from bot.services.privacy import deletion_token
from bot.services.roster import import_roster, parse_roster
from storage.tables import (
    AuditLog,
    Checkin,
    Group,
    GroupPrompt,
    Identity,
    Meeting,
    MentorNote,
    Pairing,
    PairingAvoid,
    PairingMember,
    PairingRound,
    Person,
    PromptRound,
    Rsvp,
    SessionRecord,
    WorkshopFeedback,
    WorkshopSession,
)
from tests.conftest import all_messages, text_of
from tests.dbdump import snapshot
from tests.tick import REGISTRY

COMMANDS = REGISTRY.names
ACTIONS = REGISTRY.actions
FORMS = REGISTRY.forms

SELF, PEER, MENTOR, OTHER_MENTOR, ADMIN, UNKNOWN = (
    "self",
    "peer",
    "mentor",
    "other_mentor",
    "admin",
    "unknown",
)
ACTORS = (SELF, PEER, MENTOR, OTHER_MENTOR, ADMIN, UNKNOWN)
EMAILS = {
    SELF: "sam@example.edu",
    PEER: "alex@example.edu",
    MENTOR: "maya@example.edu",
    OTHER_MENTOR: "olly@example.edu",
    ADMIN: "ada@example.edu",
    UNKNOWN: "stranger@example.edu",
}
STUDENTS = frozenset({SELF, PEER})
ENROLLED = frozenset({SELF, PEER, MENTOR, OTHER_MENTOR, ADMIN})
STAFF = frozenset({MENTOR, OTHER_MENTOR, ADMIN})
SAMS_STAFF = frozenset({MENTOR, ADMIN})
ONLY_SAM = frozenset({SELF})
# Session records: Sam's own mentors only (not an admin who doesn't mentor Sam).
SAMS_MENTOR = frozenset({MENTOR})

# Sam's private data; each string is unique so a leak is unambiguous.
SECRET_MOOD = "matrix-mood-note-worried-about-rent"
SECRET_ALERT = "matrix-alert-excerpt-please-call-me"
SECRET_GOAL = "matrix-goal-see-the-counsellor"
SECRET_NOTE = "matrix-mentor-note-family-situation"
SAM_SECRETS = (SECRET_MOOD, SECRET_ALERT, SECRET_GOAL)


@dataclass(frozen=True)
class World:
    """Ids of Sam's records that the cases point at."""

    sam_id: int
    open_checkin: int
    note_checkin: int
    goal_checkin: int
    goal: int
    alert: int
    token: str
    upcoming_workshop: int = 0
    past_workshop: int = 0
    pairing_member: int = 0
    # Open rounds of Study skills prompts: one asking for words, one a 1-5 pulse (issue 20).
    prompt_round: int = 0
    pulse_round: int = 0
    # Sam's meetings with Maya: held (with a record), proposed (waiting), booked and started.
    held_meeting: int = 0
    proposed_meeting: int = 0
    started_meeting: int = 0
    upcoming_meeting: int = 0
    person_ids: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One entry point: how to call it (aimed at Sam's data) and who may."""

    allowed: frozenset[str]
    text: str = ""
    args: dict[str, str] = field(default_factory=dict)
    # Staff reads of Sam's data that must be audited; the subject is Sam unless group-level.
    audited: frozenset[str] = frozenset()
    audit_subject_is_sam: bool = True
    # False where a refusal reads as "not found" (a UserError): still an error, still no change.
    refusal_logged: bool = True


def _args(world: World, **kw: str) -> dict[str, str]:
    return {k: v.format(w=world) for k, v in kw.items()}


def matrix(world: World) -> dict[tuple[str, str], Case]:
    """The expected authorization of every entry point, given Sam's records."""
    return {
        ("command", "help"): Case(ENROLLED),
        ("command", "start"): Case(ENROLLED),
        ("command", "checkin"): Case(STUDENTS),
        ("command", "mood"): Case(STUDENTS, text="3 matrix mood"),
        ("command", "goal"): Case(ONLY_SAM, text=f"progress {world.goal} 50"),
        ("command", "goals"): Case(STUDENTS, text="list"),
        ("command", "resources"): Case(ENROLLED),
        ("command", "pause"): Case(STUDENTS, text="until 2026-12-20"),
        ("command", "resume"): Case(STUDENTS),
        ("command", "settings"): Case(STUDENTS, text="quiet 22:00-07:00"),
        # A student's own settings; language and country are everyone's (issue 19).
        ("command", "settings show"): Case(STUDENTS),
        ("command", "settings zone"): Case(STUDENTS, text="Europe/Berlin"),
        ("command", "settings quiet"): Case(STUDENTS, text="22:00-07:00"),
        ("command", "settings checkin"): Case(STUDENTS, text="off"),
        ("command", "settings platform"): Case(STUDENTS, text="discord"),
        ("command", "settings language"): Case(ENROLLED, text="es"),
        ("command", "settings country"): Case(ENROLLED, text="ES"),
        ("command", "mentees"): Case(STAFF, audited=SAMS_STAFF),
        ("command", "alerts"): Case(STAFF, audited=SAMS_STAFF),
        ("command", "mydata"): Case(ENROLLED),
        ("command", "note"): Case(
            SAMS_STAFF, text="sam@example.edu matrix note", audited=SAMS_STAFF
        ),
        ("command", "notes"): Case(SAMS_STAFF, text="sam@example.edu", audited=SAMS_STAFF),
        # The case file and its report button (issue 17): Sam's mentors and staff only.
        ("command", "student"): Case(SAMS_STAFF, text="sam@example.edu", audited=SAMS_STAFF),
        ("action", "casefile.report"): Case(
            SAMS_STAFF,
            args=_args(world, student="{w.sam_id}", **{"from": "2026-09-01", "to": "2026-11-23"}),
            audited=SAMS_STAFF,
        ),
        ("command", "cohort"): Case(
            SAMS_STAFF, text="Study skills", audited=SAMS_STAFF, audit_subject_is_sam=False
        ),
        # Reporting: figures only (a scope this small gets a plain "no figures" answer).
        ("command", "report"): Case(STAFF),
        ("command", "schedule"): Case(frozenset({ADMIN}), text="list"),
        # Workshops, groups, prompts and pairing: Sam's group is "Study skills" (Maya mentors it).
        ("command", "workshop"): Case(
            SAMS_STAFF,
            text=f"report {world.past_workshop}",
            audited=SAMS_STAFF,
            audit_subject_is_sam=False,
        ),
        ("command", "workshops"): Case(ENROLLED, text="list"),
        ("command", "group"): Case(
            SAMS_STAFF, text="members Study skills", audited=SAMS_STAFF, audit_subject_is_sam=False
        ),
        ("command", "prompt"): Case(
            SAMS_STAFF, text="list Study skills", audited=SAMS_STAFF, audit_subject_is_sam=False
        ),
        ("command", "prompts"): Case(
            SAMS_STAFF, text="list Study skills", audited=SAMS_STAFF, audit_subject_is_sam=False
        ),
        ("command", "pairing"): Case(
            SAMS_STAFF, text="report Study skills", audited=SAMS_STAFF, audit_subject_is_sam=False
        ),
        # Families whose variants have different handlers get a row per variant (see SUBS).
        ("command", "pairing status"): Case(ENROLLED),
        ("command", "pairing on"): Case(
            SAMS_STAFF,
            text="Study skills every 2 weeks",
            audited=SAMS_STAFF,
            audit_subject_is_sam=False,
        ),
        ("command", "pairing off"): Case(
            SAMS_STAFF, text="Study skills", audited=SAMS_STAFF, audit_subject_is_sam=False
        ),
        ("command", "pairing run"): Case(
            SAMS_STAFF, text="Study skills", audited=SAMS_STAFF, audit_subject_is_sam=False
        ),
        ("command", "pairing report"): Case(
            SAMS_STAFF, text="Study skills", audited=SAMS_STAFF, audit_subject_is_sam=False
        ),
        ("command", "pairing skip"): Case(STUDENTS),
        ("command", "pairing pause"): Case(STUDENTS, text="until 2026-12-20"),
        ("command", "pairing resume"): Case(STUDENTS),
        ("command", "pairing avoid"): Case(STUDENTS, text="ada@example.edu"),
        ("command", "pairing unavoid"): Case(STUDENTS, text="olly@example.edu"),
        ("action", "workshop.rsvp"): Case(
            STUDENTS, args=_args(world, session="{w.upcoming_workshop}", answer="going")
        ),
        ("action", "workshop.checkin"): Case(
            ONLY_SAM, args=_args(world, session="{w.upcoming_workshop}")
        ),
        ("action", "workshop.feedback"): Case(
            ONLY_SAM, args=_args(world, session="{w.past_workshop}", rating="4")
        ),
        ("action", "workshop.feedback.skip"): Case(
            ONLY_SAM, args=_args(world, session="{w.past_workshop}"), refusal_logged=False
        ),
        ("action", "prompt.answer"): Case(STUDENTS, args=_args(world, round="{w.prompt_round}")),
        ("form", "prompt.answer"): Case(
            STUDENTS, args=_args(world, round="{w.prompt_round}", answer="matrix prompt answer")
        ),
        ("action", "prompt.pulse"): Case(
            STUDENTS, args=_args(world, round="{w.pulse_round}", score="4")
        ),
        ("action", "prompt.withdraw"): Case(STUDENTS, args=_args(world, round="{w.prompt_round}")),
        ("action", "pairing.met"): Case(
            ONLY_SAM, args=_args(world, member="{w.pairing_member}", met="yes")
        ),
        ("form", "workshop.add"): Case(
            SAMS_STAFF,
            args={
                "group": "Study skills",
                "title": "Matrix workshop",
                "date": "2026-12-01",
                "time": "16:00",
                "duration": "60",
            },
            audited=SAMS_STAFF,
            audit_subject_is_sam=False,
        ),
        ("action", "checkin.mood"): Case(
            ONLY_SAM, args=_args(world, checkin="{w.open_checkin}", score="4")
        ),
        ("action", "checkin.skip"): Case(ONLY_SAM, args=_args(world, checkin="{w.open_checkin}")),
        ("action", "checkin.note_skip"): Case(
            ONLY_SAM, args=_args(world, checkin="{w.note_checkin}")
        ),
        ("action", "checkin.goal"): Case(
            ONLY_SAM,
            args=_args(world, checkin="{w.goal_checkin}", goal="{w.goal}", progress="50"),
        ),
        ("action", "mood.log"): Case(STUDENTS, args={"score": "4"}),
        ("action", "mood.log.menu"): Case(STUDENTS),
        ("action", "alert.ack"): Case(
            SAMS_STAFF, args=_args(world, alert="{w.alert}"), audited=SAMS_STAFF
        ),
        ("action", "alert.followup"): Case(
            SAMS_STAFF, args=_args(world, alert="{w.alert}"), audited=SAMS_STAFF
        ),
        ("action", "alert.resolve"): Case(
            SAMS_STAFF, args=_args(world, alert="{w.alert}"), audited=SAMS_STAFF
        ),
        ("form", "alert.resolve"): Case(
            SAMS_STAFF,
            args=_args(world, alert="{w.alert}", outcome="spoke", note="Matrix: called them"),
            audited=SAMS_STAFF,
        ),
        ("action", "help.request"): Case(STUDENTS),
        ("action", "mydata.export"): Case(ENROLLED),
        ("action", "mydata.delete"): Case(STUDENTS),
        ("action", "mydata.delete.confirm"): Case(ONLY_SAM, args={"token": world.token}),
        ("action", "mydata.delete.cancel"): Case(STUDENTS),
        ("action", "home.show"): Case(ENROLLED),
        ("command", "home"): Case(ENROLLED),
        ("form", "goal.add"): Case(STUDENTS, args={"title": "Matrix goal", "due": ""}),
        ("text", "message"): Case(ENROLLED, text="hello there"),
        ("command", "meet"): Case(
            SAMS_MENTOR,
            text=f"record {world.held_meeting}",
            audited=SAMS_MENTOR,
        ),
        # /meet variants allow different roles: a row per variant.
        ("command", "meet book"): Case(ENROLLED),
        ("command", "meet list"): Case(ENROLLED),
        ("command", "meet hours"): Case(STAFF, text="mon,wed 14:00-16:00 30"),
        ("command", "meet off"): Case(STAFF, text="2027-01-04"),
        ("command", "meet link"): Case(STAFF, text="https://meet.example.edu/matrix"),
        # Refusals below are the feature's own ("only the students you mentor", "I can't find
        # meeting #N"): they say why without being logged as authorization refusals.
        ("command", "meet propose"): Case(
            SAMS_MENTOR, text="sam@example.edu 2027-01-04 10:00", refusal_logged=False
        ),
        # Sam's mentor has published no hours, so only the mentor may move it (anywhere).
        ("command", "meet move"): Case(
            SAMS_MENTOR,
            text=f"{world.upcoming_meeting} 2027-01-05 10:00 matrix clash",
            refusal_logged=False,
        ),
        ("command", "meet cancel"): Case(
            ONLY_SAM | SAMS_MENTOR,
            text=f"{world.upcoming_meeting} matrix reason",
            refusal_logged=False,
        ),
        ("command", "meet every"): Case(
            SAMS_MENTOR, text="sam@example.edu 2", refusal_logged=False
        ),
        ("command", "meet record"): Case(
            SAMS_MENTOR, text=f"{world.held_meeting}", audited=SAMS_MENTOR
        ),
        ("command", "meet write"): Case(
            SAMS_MENTOR,
            text=f"{world.held_meeting} matrix topics | one action | next step",
            audited=SAMS_MENTOR,
            refusal_logged=False,
        ),
        ("command", "meeting"): Case(ENROLLED, text="list"),
        ("command", "meetings"): Case(ENROLLED),
        # No hours are published: students are told the time isn't free (not an error).
        ("action", "meeting.book"): Case(
            STUDENTS,
            args=_args(world, mentor=str(world.person_ids[MENTOR]), at="20270104T1000Z"),
        ),
        ("action", "meeting.accept"): Case(
            ONLY_SAM, args=_args(world, meeting="{w.proposed_meeting}"), refusal_logged=False
        ),
        ("action", "meeting.decline"): Case(
            ONLY_SAM, args=_args(world, meeting="{w.proposed_meeting}"), refusal_logged=False
        ),
        ("action", "meeting.outcome"): Case(
            SAMS_MENTOR,
            args=_args(world, meeting="{w.started_meeting}", outcome="held"),
            refusal_logged=False,
        ),
        ("action", "meeting.record"): Case(
            SAMS_MENTOR, args=_args(world, meeting="{w.held_meeting}"), refusal_logged=False
        ),
        ("action", "meeting.goals"): Case(
            SAMS_MENTOR,
            args=_args(world, meeting="{w.held_meeting}"),
            audited=SAMS_MENTOR,
        ),
        ("form", "meeting.record"): Case(
            SAMS_MENTOR,
            args=_args(
                world, meeting="{w.held_meeting}", topics="Matrix topics", actions="", next=""
            ),
            audited=SAMS_MENTOR,
            refusal_logged=False,
        ),
    }


# A family whose variants allow different roles (`/pairing report` for staff, `/pairing
# skip` for students) is checked variant by variant, as "NAME SUB".
SUBS = [
    f"{c.name} {c.sub}"
    for family in REGISTRY.families.values()
    if len({frozenset(c.roles) for c in family}) > 1
    for c in family
]

ENTRIES = (
    [("command", name) for name in COMMANDS]
    + [("command", name) for name in SUBS]
    + [("action", name) for name in ACTIONS]
    + [("form", name) for name in FORMS]
    + [("text", "message")]
)


def build_world(core: MentorBot) -> World:
    """The demo programme plus Olly, Ada, linked accounts and a record of each kind for Sam."""
    now = core.clock.now()
    with core.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role\nolly@example.edu,Olly Other,mentor\n"
                "ada@example.edu,Ada Admin,admin\n"
            ),
            now,
        )
        people: dict[str, Person] = {}
        for actor, email in EMAILS.items():
            person = person_by_email(session, email)
            if person is None:
                continue
            assert person.id is not None
            people[actor] = person
            # Linked up front, so first-contact linking (the identity, and the platform the
            # person last wrote from) is not part of what a case changes.
            session.add(
                Identity(person_id=person.id, platform="console", workspace="local", user_id=email)
            )
            person.last_platform = "console"
            if person.role == "student":
                # A second platform, so `/settings platform discord` has an account to prefer.
                session.add(
                    Identity(
                        person_id=person.id,
                        platform="discord",
                        user_id=f"30100000000000{person.id:04d}",
                    )
                )
        sam = people[SELF]
        assert sam.id is not None and people[MENTOR].id is not None
        goal = goal_service.add_goal(session, sam, SECRET_GOAL, None, now, now.date())
        checkins = [
            Checkin(
                person_id=sam.id,
                occurrence_key=f"matrix:{step}",
                status=status,
                step=step,
                mood=mood,
                goal_id=goal.id if step == "goal" else None,
                opened_at=now - timedelta(hours=hours),
            )
            for step, status, mood, hours in (
                ("mood", "open", None, 3),
                ("note", "answered", 3, 2),
                ("goal", "answered", 4, 1),
            )
        ]
        session.add_all(checkins)
        mood_service.log_mood(session, sam, 2, SECRET_MOOD, now - timedelta(hours=4))
        alert = raise_alert(
            session,
            core.settings,
            now,
            sam,
            "help",
            "Asked to talk to their mentor",
            excerpt=SECRET_ALERT,
        )
        assert alert is not None
        session.add(
            MentorNote(
                student_id=sam.id, author_id=people[MENTOR].id, text=SECRET_NOTE, created_at=now
            )
        )
        group = session.exec(select(Group).where(Group.name == "Study skills")).one()
        assert group.id is not None
        upcoming = WorkshopSession(
            group_id=group.id, title="Soon", starts_at=now + timedelta(minutes=5), created_at=now
        )
        past = WorkshopSession(
            group_id=group.id, title="Before", starts_at=now - timedelta(hours=3), created_at=now
        )
        session.add_all([upcoming, past])
        session.flush()
        assert upcoming.id is not None and past.id is not None
        session.add(Rsvp(session_id=upcoming.id, person_id=sam.id, status="going", updated_at=now))
        session.add(
            Rsvp(
                session_id=past.id,
                person_id=sam.id,
                status="going",
                attended=True,
                updated_at=now,
            )
        )
        session.add(
            WorkshopFeedback(
                session_id=past.id,
                person_id=sam.id,
                rating=5,
                awaiting_comment=True,
                created_at=now,
                updated_at=now,
            )
        )
        # Pairing is on in Sam's group, and Sam and Alex each keep a "don't pair" entry.
        group.pairing_weeks = 2
        session.add(group)
        for student in (sam, people[PEER]):
            assert student.id is not None and people[OTHER_MENTOR].id is not None
            session.add(
                PairingAvoid(
                    person_id=student.id, avoided_id=people[OTHER_MENTOR].id, created_at=now
                )
            )
        pairing_round = PairingRound(group_id=group.id, number=1, started_at=now, checkin_at=now)
        session.add(pairing_round)
        session.flush()
        assert pairing_round.id is not None
        pairing = Pairing(round_id=pairing_round.id)
        session.add(pairing)
        session.flush()
        assert pairing.id is not None
        member = PairingMember(pairing_id=pairing.id, person_id=sam.id)
        session.add(member)
        assert people[PEER].id is not None
        session.add(PairingMember(pairing_id=pairing.id, person_id=people[PEER].id))
        session.flush()
        assert member.id is not None
        rounds: list[int] = []
        for pulse in (False, True):
            prompt = GroupPrompt(
                group_id=group.id,
                text="Matrix prompt",
                days="*",
                local_time="10:00",
                timezone="UTC",
                created_at=now,
                pulse=pulse,
            )
            session.add(prompt)
            session.flush()
            assert prompt.id is not None
            found = PromptRound(
                prompt_id=prompt.id,
                local_date=now.date(),
                opened_at=now,
                closes_at=now + timedelta(hours=1),
            )
            session.add(found)
            session.flush()
            assert found.id is not None
            rounds.append(found.id)
        maya_id = people[MENTOR].id
        meetings = [
            Meeting(
                uid=f"matrix-{status}-{offset}@mentorbot",
                mentor_id=maya_id,
                student_id=sam.id,
                starts_at=now + timedelta(hours=offset),
                duration_minutes=30,
                mentor_timezone="Europe/London",
                status=status,
                created_at=now,
                updated_at=now,
            )
            for status, offset in (
                ("held", -48),
                ("proposed", 48),
                ("booked", -1),
                ("booked", 72),
            )
        ]
        session.add_all(meetings)
        session.flush()
        held, proposed, started, upcoming_meeting = (m.id or 0 for m in meetings)
        session.add(
            SessionRecord(
                meeting_id=held,
                student_id=sam.id,
                author_id=maya_id,
                topics="Matrix topics",
                actions="Matrix action one; matrix action two",
                next_step="Matrix next",
                created_at=now,
                updated_at=now,
            )
        )
        ids = [c.id for c in checkins]
        assert None not in ids and goal.id is not None and alert.id is not None
        return World(
            sam_id=sam.id,
            open_checkin=ids[0] or 0,
            note_checkin=ids[1] or 0,
            goal_checkin=ids[2] or 0,
            goal=goal.id,
            alert=alert.id,
            token=deletion_token(sam.id, now),
            upcoming_workshop=upcoming.id,
            past_workshop=past.id,
            pairing_member=member.id,
            prompt_round=rounds[0],
            pulse_round=rounds[1],
            held_meeting=held,
            proposed_meeting=proposed,
            started_meeting=started,
            upcoming_meeting=upcoming_meeting,
            person_ids={a: p.id for a, p in people.items() if p.id is not None},
        )


def visible(reply: Reply) -> str:
    """Everything the actor receives, attachments included."""
    parts = [text_of(reply)]
    for message in all_messages(reply):
        if message.attachment is not None:
            # A binary file (a chart, a PDF) is checked by what it says in words.
            content = message.attachment.content
            parts.append(content if isinstance(content, str) else message.attachment.alt_text)
    return "\n".join(parts)


def call(core: MentorBot, actor: str, kind: str, name: str, case: Case) -> Reply:
    email = EMAILS[actor]
    who = Actor("console", "local", email, email=email)
    if kind == "command":
        # "pairing skip" is the family `pairing` with its variant's word first.
        name, _, sub = name.partition(" ")
        text = f"{sub} {case.text}".strip()
        return core.handle(Inbound(who, "command", name, {}, text))
    if kind == "text":
        return core.handle(Inbound(who, "text", name, {}, case.text))
    return core.handle(Inbound(who, kind, name, dict(case.args)))  # type: ignore[arg-type]


def audit_rows(core: MentorBot, actor_id: int) -> list[AuditLog]:
    with core.db.session() as session:
        return list(session.exec(select(AuditLog).where(AuditLog.actor_id == actor_id)).all())


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.core" and r.getMessage().startswith("refused")
    ]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("kind", "name"), ENTRIES, ids=[f"{k}:{n}" for k, n in ENTRIES])
def test_entry_point_authorization(
    core: MentorBot, caplog: pytest.LogCaptureFixture, kind: str, name: str, actor: str
) -> None:
    """Each entry point is allowed or refused for each actor exactly as the matrix says."""
    world = build_world(core)
    cases = matrix(world)
    assert (kind, name) in cases, (
        f"{kind} {name!r} has no row in the authorization matrix: add one to MATRIX in "
        "tests/bot/test_authorization_matrix.py (and an @allow rule to its handler)"
    )
    case = cases[(kind, name)]
    before = snapshot(core.db)
    actor_id = world.person_ids.get(actor)
    audits_before = len(audit_rows(core, actor_id)) if actor_id else 0
    caplog.set_level(logging.INFO, logger="bot.core")

    reply = call(core, actor, kind, name, case)
    seen = visible(reply)

    if actor == UNKNOWN:
        assert text_of(reply) == NOT_ENROLLED
        assert snapshot(core.db) == before
    elif actor in case.allowed:
        assert reply.error is None, f"{actor} was refused {kind} {name}: {text_of(reply)}"
        assert not refusals(caplog)
        if actor in case.audited:
            assert actor_id is not None
            new = audit_rows(core, actor_id)[audits_before:]
            subject = world.sam_id if case.audit_subject_is_sam else None
            assert any(r.subject_id == subject for r in new), f"{kind} {name} was not audited"
    else:
        assert reply.error is not None, f"{actor} was not refused {kind} {name}: {text_of(reply)}"
        if case.refusal_logged:
            assert refusals(caplog), f"{actor} got an error, not a refusal: {text_of(reply)}"
        assert snapshot(core.db) == before, f"a refused {kind} {name} changed the database"

    if actor not in (SELF, MENTOR, ADMIN):
        for secret in (*SAM_SECRETS, SECRET_NOTE):
            assert secret not in seen, f"{actor} saw Sam's data via {kind} {name}"
    if actor in STUDENTS:
        assert SECRET_NOTE not in seen, f"a student saw a mentor's note via {kind} {name}"


def test_matrix_has_no_rows_for_entry_points_that_do_not_exist(core: MentorBot) -> None:
    """Every matrix row names a real command, action or form (no stale rows hide a gap)."""
    world = build_world(core)
    assert set(matrix(world)) == set(ENTRIES)


def test_every_handler_declares_its_roles() -> None:
    """Every command, action, form and free-text handler has an @allow rule."""
    handlers = {
        **{f"command {c.name} {c.sub}": c.handler for c in REGISTRY.commands},
        **{f"action {n}": h for n, h in ACTIONS.items()},
        **{f"form {n}": h for n, h in FORMS.items()},
        "text": REGISTRY.text_fallback,
    }
    missing = [entry for entry, handler in handlers.items() if allowed_roles(handler) is None]
    assert missing == []


def test_a_feature_with_an_undeclared_handler_cannot_be_registered() -> None:
    """Deny by default, at build time: a command or button without @allow stops the registry."""

    def undeclared(ctx: object) -> Reply:
        return Reply.say("secret stuff")

    keep = Feature("keep", "answers text", text_fallback=REGISTRY.text_fallback)
    with pytest.raises(ValueError, match="@allow"):
        Registry([keep, Feature("bad", "x", commands=(Command("undeclared", "x", undeclared),))])
    with pytest.raises(ValueError, match="@allow"):
        Registry([keep, Feature("bad", "x", actions={"undeclared": undeclared})])


def test_a_handler_without_a_rule_is_refused_for_everyone(core: MentorBot, caplog) -> None:
    """Deny by default at run time too: a button slipped in without @allow is refused."""
    ACTIONS["undeclared"] = lambda ctx: Reply.say("secret stuff")
    try:
        caplog.set_level(logging.INFO)
        reply = core.handle(
            Inbound(Actor("console", "local", "admin@example.edu"), "action", "undeclared")
        )
    finally:
        del ACTIONS["undeclared"]
    assert "secret stuff" not in text_of(reply)
    assert reply.error is not None
    assert any("no @allow" in r.getMessage() for r in caplog.records)


COMMAND_NAMES = sorted(COMMANDS)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_commands_typed_as_messages_are_authorized_the_same_way(
    core: MentorBot, caplog: pytest.LogCaptureFixture, name: str, actor: str
) -> None:
    """'/name args' sent as a plain message is allowed or refused exactly like the command."""
    world = build_world(core)
    case = matrix(world)[("command", name)]
    before = snapshot(core.db)
    caplog.set_level(logging.INFO, logger="bot.core")
    email = EMAILS[actor]
    line = f"/{name} {case.text}".strip()
    reply = core.handle(
        Inbound(Actor("console", "local", email, email=email), "text", "m", {}, line)
    )
    if actor == UNKNOWN:
        assert text_of(reply) == NOT_ENROLLED and snapshot(core.db) == before
    elif actor in case.allowed:
        assert reply.error is None and not refusals(caplog), text_of(reply)
    else:
        assert reply.error is not None, text_of(reply)
        assert refusals(caplog) or not case.refusal_logged, text_of(reply)
        assert snapshot(core.db) == before
