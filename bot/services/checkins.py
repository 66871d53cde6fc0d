"""Check-ins: a short conversation of mood (buttons), an optional note, optional goal progress.

Answering twice updates the same check-in and mood entry; skipping is recorded as skipped,
never as a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring

from sqlmodel import Session, col, select

from bot.args import record_id
from bot.auth import require_owner
from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import N_, _, current_language, speaking
from bot.model import Choice, Link, Message, SerialisedMessage
from bot.services import goals as goal_service
from bot.services.escalation import evaluate_mood_against
from bot.services.mood import MOOD_FACES, MOOD_WORDS, average_before, parse_score
from bot.services.resources import as_links, suggest
from storage.enums import CheckinStatus, CheckinStep, GoalStatus
from storage.tables import Checkin, CheckinSchedule, Goal, MoodEntry, Person

ALL_QUESTIONS = "mood,note,goal"
PROGRESS_CHOICES = (
    (N_("No change"), "-1"),
    ("25%", "25"),
    ("50%", "50"),
    ("75%", "75"),
    (N_("Done"), "100"),
)


@dataclass(frozen=True)
class CheckinTurn:
    """What to show after a step: the check-in message updated in place, and what comes next."""

    update: Message | None
    next: Message | None
    resources: tuple[Link, ...] = ()


def mood_choices(checkin_id: int) -> tuple[Choice, ...]:
    """Buttons 1-5 with faces, plus Skip."""
    args = (("checkin", str(checkin_id)),)
    moods = (
        Choice(f"{MOOD_FACES[s]} {s}", "checkin.mood", (*args, ("score", str(s))))
        for s in range(1, 6)
    )
    return (*moods, Choice(_("Skip today"), "checkin.skip", args))


def render_checkin(checkin: Checkin, person: Person) -> Message:
    """The check-in prompt: how are you feeling, 1 to 5."""
    assert checkin.id is not None
    return checkin_prompt(checkin.id, person.name)


def _first_name(name: str) -> str:
    words = name.split()
    return words[0] if words else ""


def checkin_prompt(checkin_id: int, name: str) -> Message:
    """The check-in prompt by id and name (bulk opening has ids and rows, not ORM objects).

    Built in the language being spoken: a job speaks the student's (`speaking_to`).
    """
    first = _first_name(name)
    text = (
        _("Hi {name}, how are you feeling today? 1 is awful, 5 is great.").format(name=first)
        if first
        else _("Hi there, how are you feeling today? 1 is awful, 5 is great.")
    )
    return Message(title=_("Check-in"), text=text, choices=mood_choices(checkin_id))


class CheckinPromptJson:
    """`checkin_prompt(checkin_id, name).to_json()`, serialised once and filled in per student.

    Opening an occurrence queues one prompt per student, equal but for the check-in id and
    the first name: building 10,000 messages (60,000 choices) and serialising each was a
    third of the bulk step. The template is the real prompt serialised with two sentinels,
    so it follows `checkin_prompt` and `Message.to_json` whatever they become; the name is
    escaped as `json.dumps(..., ensure_ascii=False)` escapes it.

    One template per language, each built the first time a student speaking it needs one:
    `render(checkin_id, name, language)` with the languages of a page of students from
    `bot.services.language.languages_of` (one query). Without a language, the one being
    spoken now.
    """

    # Sentinels that occur nowhere in the prompt: a 19-digit id and private-use characters.
    _ID = 7_391_046_285_173_902_468
    _NAME = "\ue000first-name\ue000"

    def __init__(self) -> None:
        """No template yet: each language's is serialised on first use."""
        self._templates: dict[str, _PromptTemplate] = {}

    def template(self, language: str | None = None) -> _PromptTemplate:
        """The serialised prompt of one language, cut at the sentinels (built once)."""
        wanted = language or current_language()
        found = self._templates.get(wanted)
        if found is None:
            with speaking(wanted):
                found = _PromptTemplate(checkin_prompt(self._ID, self._NAME).to_json())
            self._templates[wanted] = found
        return found

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages whose template has been built so far (one per language spoken)."""
        return tuple(self._templates)

    def render(self, checkin_id: int, name: str, language: str | None = None) -> SerialisedMessage:
        """The serialised prompt of one check-in, equal to `checkin_prompt(...).to_json()`.

        In `language` (a student's, from `languages_of`), else the language spoken now.
        """
        first = _first_name(name)
        if not first:  # rare: a nameless roster row gets the prompt's own "Hi there"
            with speaking(language or current_language()):
                return SerialisedMessage(checkin_prompt(checkin_id, name).to_json())
        template = self._templates.get(language) if language else None
        return (template or self.template(language)).fill(checkin_id, first)


class _PromptTemplate:
    """One language's serialised prompt as constant parts around the id and name slots."""

    __slots__ = ("_parts", "_slots")

    def __init__(self, raw: str) -> None:
        """Cut `raw` (the prompt serialised with the sentinels) at the sentinels."""
        sentinel_id, sentinel_name = CheckinPromptJson._ID, CheckinPromptJson._NAME
        id_text, name_text = str(sentinel_id), encode_basestring(sentinel_name)[1:-1]
        # Alternating constant text and slots: ("id" | "name") between consecutive parts.
        self._parts: list[str] = []
        self._slots: list[bool] = []  # True: the name, False: the id
        rest = raw
        while True:
            at_id, at_name = rest.find(id_text), rest.find(name_text)
            if at_id < 0 and at_name < 0:
                break
            is_name = at_id < 0 or (0 <= at_name < at_id)
            at, length = (at_name, len(name_text)) if is_name else (at_id, len(id_text))
            self._parts.append(rest[:at])
            self._slots.append(is_name)
            rest = rest[at + length :]
        self._parts.append(rest)

    def fill(self, checkin_id: int, first_name: str) -> SerialisedMessage:
        """The serialised prompt with this check-in's id and the student's first name."""
        values = (encode_basestring(first_name)[1:-1], str(checkin_id))
        pieces = [self._parts[0]]
        for slot, part in zip(self._slots, self._parts[1:], strict=True):
            pieces.append(values[0] if slot else values[1])
            pieces.append(part)
        return SerialisedMessage("".join(pieces))


def render_reminder(checkin: Checkin, person: Person) -> Message:
    """The one reminder for an unanswered check-in."""
    assert checkin.id is not None
    return Message(
        title=_("Check-in reminder"),
        text=_("A gentle reminder: how are you feeling today? It takes five seconds."),
        choices=mood_choices(checkin.id),
    )


def open_checkin_of(session: Session, person_id: int) -> Checkin | None:
    """The person's most recent check-in still in conversation (open or awaiting a note)."""
    return session.exec(
        select(Checkin)
        .where(
            Checkin.person_id == person_id,
            col(Checkin.status).in_((CheckinStatus.OPEN, CheckinStatus.ANSWERED)),
            col(Checkin.step) != CheckinStep.DONE,
        )
        .order_by(col(Checkin.opened_at).desc())
    ).first()


def start_adhoc(session: Session, person: Person, now: datetime) -> Checkin:
    """A check-in started by the student; re-shows the open one instead of duplicating."""
    assert person.id is not None
    existing = open_checkin_of(session, person.id)
    if existing is not None and existing.step == CheckinStep.MOOD:
        return existing
    checkin = Checkin(
        person_id=person.id,
        occurrence_key=f"adhoc:{now.isoformat(timespec='microseconds')}",
        opened_at=now,
        due_at=now,
    )
    session.add(checkin)
    session.flush()
    return checkin


def _own_checkin(session: Session, person: Person, raw_id: str) -> Checkin:
    checkin_id = record_id(raw_id)
    checkin = session.get(Checkin, checkin_id) if checkin_id is not None else None
    if checkin is None:
        raise UserError(_("I can't find that check-in."))
    # Only the student answers their own check-in: not their mentor, not an admin.
    require_owner(
        person, checkin.person_id, _("That check-in belongs to someone else, so I left it alone.")
    )
    if checkin.status in (CheckinStatus.MISSED, CheckinStatus.EXCUSED, CheckinStatus.NOT_SENT):
        raise UserError(_("That check-in has closed. Start a new one with /checkin."))
    return checkin


def _next_goal(session: Session, person: Person) -> Goal | None:
    goals = goal_service.open_goals(session, person)
    if not goals:
        return None
    # Ask about the goal whose progress was recorded longest ago.
    return min(goals, key=lambda g: g.last_progress_at or g.created_at)


def _after_note_step(session: Session, checkin: Checkin, person: Person) -> Message | None:
    if "goal" in questions_of(session, checkin.schedule_id):
        goal = _next_goal(session, person)
        if goal is not None and goal.id is not None:
            checkin.step = CheckinStep.GOAL
            checkin.goal_id = goal.id
            args = (("checkin", str(checkin.id)), ("goal", str(goal.id)))
            return Message(
                text=_('Any progress on your goal "{title}"? (now {progress}%)').format(
                    title=goal.title, progress=goal.progress
                ),
                choices=(
                    *(
                        Choice(_(label), "checkin.goal", (*args, ("progress", value)))
                        for label, value in PROGRESS_CHOICES
                    ),
                    Choice(_("Skip"), "checkin.goal", (*args, ("progress", "skip"))),
                ),
            )
    checkin.step = CheckinStep.DONE
    return Message(text=_("Thanks for checking in. See you next time! 👋"))


def questions_of(session: Session, schedule_id: int | None) -> str:
    """The questions a check-in of this schedule asks (ad-hoc check-ins ask everything)."""
    if schedule_id is None:
        return ALL_QUESTIONS
    # Answers in one unit of work mostly share a schedule: read its questions once.
    known: dict[int, str] = session.info.setdefault("checkin_questions", {})
    questions = known.get(schedule_id)
    if questions is None:
        schedule = session.get(CheckinSchedule, schedule_id)
        questions = schedule.questions if schedule else ALL_QUESTIONS
        known[schedule_id] = questions
    return questions


def mood_thanks(score: int) -> str:
    """What a student sees once their mood is recorded."""
    return _("You answered {face} {score}/5 ({word}). Thank you!").format(
        face=MOOD_FACES[score], score=score, word=_(MOOD_WORDS[score])
    )


def note_prompt(checkin_id: int, links: tuple[Link, ...]) -> Message:
    """The check-in's second step: an optional note, typed, or Skip."""
    return Message(
        text=_("Anything on your mind? Just type it here, or press Skip."),
        choices=(Choice(_("Skip"), "checkin.note_skip", (("checkin", str(checkin_id)),)),),
        expects_text=True,
        links=links,
    )


def answered_with_next(score: int, nxt: Message | None) -> Message:
    """The check-in message after a first mood answer, carrying the next step in place.

    One message that moves on, instead of an edit plus a new message: one request per answer
    on every platform (a 09:00 burst is thousands), and a tidier conversation.
    """
    if nxt is None:
        return Message(title=_("Check-in"), text=mood_thanks(score))
    return Message(
        title=_("Check-in"),
        text=f"{mood_thanks(score)}\n{nxt.text}",
        choices=nxt.choices,
        links=nxt.links,
        expects_text=nxt.expects_text,
    )


def answer_mood(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    person: Person,
    raw_checkin: str,
    raw_score: str,
) -> CheckinTurn:
    """Record the mood answer (or update it if answered before) and ask for a note.

    `bot.services.answer_burst` does the same for the common case of a burst, in bulk; the
    two are held equal by tests/bot/services/test_answer_burst.py.
    """
    checkin = _own_checkin(session, person, raw_checkin)
    score = parse_score(raw_score)
    assert checkin.id is not None and person.id is not None
    # A check-in without a mood has no entry yet (mood_entry.checkin_id is unique, so a
    # mistake here would fail loudly): the first answer, in a 09:00 burst, skips the lookup.
    entry = (
        None
        if checkin.mood is None
        else session.exec(select(MoodEntry).where(MoodEntry.checkin_id == checkin.id)).first()
    )
    first_answer = entry is None
    questions = questions_of(session, checkin.schedule_id) if first_answer else ""
    # The drop rule compares with the days before this answer; asked before it is written.
    average = average_before(
        session,
        person.id,
        entry.recorded_at if entry is not None else now,
        settings.escalation.drop_window_days,
        entry.id if entry is not None else None,
    )
    if entry is None:
        entry = MoodEntry(
            person_id=person.id,
            score=score,
            note=checkin.note,
            source="checkin",
            checkin_id=checkin.id,
            recorded_at=now,
        )
    else:
        entry.score = score
    session.add(entry)
    checkin.mood = score
    checkin.status = CheckinStatus.ANSWERED
    checkin.answered_at = checkin.answered_at or now
    session.add(checkin)
    evaluate_mood_against(session, settings, now, person, entry, average)
    if not first_answer:
        return CheckinTurn(update=answered_with_next(score, None), next=None)
    nxt: Message | None
    if "note" in questions:
        checkin.step = CheckinStep.NOTE
        low = score <= settings.escalation.low_mood_threshold
        links = as_links(suggest(session, None, low, settings.resource_suggestions))
        nxt = note_prompt(checkin.id, links)
    else:
        nxt = _after_note_step(session, checkin, person)
    return CheckinTurn(update=answered_with_next(score, nxt), next=None)


def skip(session: Session, now: datetime, person: Person, raw_checkin: str) -> CheckinTurn:
    """Skip today's check-in: recorded as skipped, never as a score."""
    checkin = _own_checkin(session, person, raw_checkin)
    if checkin.status == CheckinStatus.ANSWERED:
        return CheckinTurn(update=None, next=Message(text=_("You've already answered this one.")))
    checkin.status = CheckinStatus.SKIPPED
    checkin.step = CheckinStep.DONE
    checkin.answered_at = now
    session.add(checkin)
    return CheckinTurn(
        update=Message(title=_("Check-in"), text=_("Skipped today's check-in. That's okay.")),
        next=None,
    )


def skip_note(session: Session, person: Person, raw_checkin: str) -> CheckinTurn:
    """No note this time: move on to the goal question or finish."""
    checkin = _own_checkin(session, person, raw_checkin)
    if checkin.step != CheckinStep.NOTE:
        return CheckinTurn(update=None, next=None)
    nxt = _after_note_step(session, checkin, person)
    session.add(checkin)
    return CheckinTurn(update=Message(text=_("No note this time.")), next=nxt)


def add_note(
    session: Session, settings: CoreSettings, person: Person, checkin: Checkin, text: str
) -> CheckinTurn:
    """Keep the student's note on the check-in and its mood entry; suggest fitting resources."""
    checkin.note = text
    entry = session.exec(select(MoodEntry).where(MoodEntry.checkin_id == checkin.id)).first()
    if entry is not None:
        entry.note = text
        session.add(entry)
    low = checkin.mood is not None and checkin.mood <= settings.escalation.low_mood_threshold
    links = as_links(suggest(session, text, low, settings.resource_suggestions))
    nxt = _after_note_step(session, checkin, person)
    session.add(checkin)
    ack = Message(text=_("Got it, I've added that to today's check-in."), links=links)
    return (
        CheckinTurn(update=None, next=nxt, resources=links)
        if nxt is None
        else CheckinTurn(
            update=None,
            next=Message(text=ack.text + "\n" + nxt.text, choices=nxt.choices, links=links),
        )
    )


def answer_goal(
    session: Session,
    now: datetime,
    person: Person,
    raw_checkin: str,
    raw_goal: str,
    raw_progress: str,
) -> CheckinTurn:
    """Record goal progress from the check-in (or skip it) and finish."""
    checkin = _own_checkin(session, person, raw_checkin)
    if raw_progress not in ("skip", "-1"):
        goal = goal_service.set_progress(session, person, raw_goal, raw_progress, now)
        checkin.goal_progress = goal.progress
        text = _('Updated "{title}" to {progress}%.').format(
            title=goal.title, progress=goal.progress
        )
        if goal.status == GoalStatus.DONE:
            text = _('🎉 Goal complete: "{title}"!').format(title=goal.title)
    elif raw_progress == "-1":
        goal = goal_service.own_goal(session, person, raw_goal)
        goal.next_nudge_at = goal.next_nudge_at  # unchanged: no progress is information too
        text = _("Noted, no change this time.")
    else:
        text = _("Skipped the goal question.")
    checkin.step = CheckinStep.DONE
    session.add(checkin)
    return CheckinTurn(
        update=Message(text=text),
        next=Message(text=_("Thanks for checking in. See you next time! 👋")),
    )


def recent_checkins(session: Session, person_id: int, limit: int = 10) -> Sequence[Checkin]:
    """The person's latest check-ins, newest first."""
    return session.exec(
        select(Checkin)
        .where(Checkin.person_id == person_id)
        .order_by(col(Checkin.opened_at).desc())
        .limit(limit)
    ).all()


def last_answered(session: Session, person_id: int) -> Checkin | None:
    """The person's latest answered check-in."""
    return session.exec(
        select(Checkin)
        .where(Checkin.person_id == person_id, Checkin.status == CheckinStatus.ANSWERED)
        .order_by(col(Checkin.answered_at).desc())
    ).first()
