"""Group prompts that listen: answers collected privately, screened, and shared back once.

Each posted occurrence of a prompt is a round (`PromptRound`), open for `close_hours`
(default 24). The post carries an Answer button (a pulse prompt: buttons 1 to 5). Answers
come through the bot, never by reading the channel: that would need Slack's
`channels:history` and Discord's privileged message-content intent.

* Answer opens a form (a Slack or Discord modal; the console asks for the next line) that
  submits `ANSWER_FORM`. The core screens the form's words like any DM before the handler
  runs (crisis card and alert to the mentors; bot.core), so the answer is stored with the
  screen's verdict: a "crisis" answer is kept but never shared or exported.
* An answer can be edited (answer again) or withdrawn until the round closes.
* At the close the minute tick (`close_due_rounds`) queues ONE summary per round into the
  post's thread (outbox key `prompt-summary:{round}`): with names, or without them when the
  prompt is `anonymous`. An anonymous or pulse round with fewer than `min_group_size`
  answers posts nothing; the group's mentors get the count only.
* Staff export a round's answers as CSV, except where anonymous.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from bot.args import parse_day, record_id
from bot.auth import audit_reads
from bot.config import CoreSettings
from bot.errors import NotAllowed, UserError
from bot.i18n import _, ngettext, speaking
from bot.i18n.dates import DAY, DAY_TIME, local_format, local_time
from bot.localtime import to_local
from bot.model import Attachment, Choice, Message
from bot.outbox import Push, push_rows
from bot.outcome_lines import nonzero_counts
from bot.people import ADMIN
from bot.services.groups import (
    GROUP_MENTOR,
    MEMBER,
    channel_address,
    is_group_mentor,
    members_of,
    membership,
)
from bot.services.language import languages_of, speaking_in_group, speaking_to
from storage.enums import OutboxKind, OutboxStatus
from storage.insert import insert_ignore
from storage.tables import Group, GroupPrompt, Outbox, Person, PromptAnswer, PromptRound

ANSWER_ACTION = "prompt.answer"
ANSWER_FORM = "prompt.answer"
WITHDRAW_ACTION = "prompt.withdraw"
PULSE_ACTION = "prompt.pulse"
# Slack's modal text input holds at most 3,000 characters; the same limit everywhere.
MAX_ANSWER = 3000
DEFAULT_CLOSE_HOURS = 24
MAX_CLOSE_HOURS = 24 * 7
PULSE_SCORES = (1, 2, 3, 4, 5)
CRISIS = "crisis"
# Rounds closed per tick at most: a backlog after downtime drains over a few minutes.
CLOSE_BATCH = 200

POSTED, WITHHELD, EMPTY = "posted", "withheld", "empty"


@dataclass(frozen=True)
class OpenRound:
    """A round with its prompt and group, as the answer handlers need them."""

    round: PromptRound
    prompt: GroupPrompt
    group: Group


def open_round(session: Session, prompt: GroupPrompt, local_date: date, at: datetime) -> int:
    """The round of one occurrence, created once (keyed by prompt and local date)."""
    assert prompt.id is not None
    hours = prompt.close_hours or DEFAULT_CLOSE_HOURS
    values = {
        "prompt_id": prompt.id,
        "local_date": local_date,
        "opened_at": at,
        "closes_at": at + timedelta(hours=hours),
    }
    insert_ignore(session, PromptRound, values)
    round_id = session.exec(
        select(PromptRound.id).where(
            PromptRound.prompt_id == prompt.id, PromptRound.local_date == local_date
        )
    ).one()
    assert round_id is not None
    return round_id


def answer_choices(prompt: GroupPrompt, round_id: int) -> tuple[Choice, ...]:
    """The buttons of a posted prompt: Answer, or 1 to 5 for a pulse question."""
    args = (("round", str(round_id)),)
    if prompt.pulse:
        return tuple(
            Choice(str(score), PULSE_ACTION, (*args, ("score", str(score))))
            for score in PULSE_SCORES
        )
    return (Choice(_("Answer"), ANSWER_ACTION, args, style="primary"),)


def answer_hint(prompt: GroupPrompt, closes_at: datetime, *, channel: bool) -> str:
    """How to answer, where the answers go, and when it closes."""
    when = f"{local_format(to_local(closes_at, prompt.timezone), DAY_TIME)} ({prompt.timezone})"
    how = (
        _("Press a number: 1 is low, 5 is high.")
        if prompt.pulse
        else _("Press Answer to reply: only I see your answer until it closes.")
    )
    if channel:
        if prompt.anonymous or prompt.pulse:
            said = _(
                "At {when} I'll reply in this message's thread with what the group said "
                "(without names)."
            )
        else:
            said = _(
                "At {when} I'll reply in this message's thread with what the group said "
                "(with names)."
            )
        return f"🧵 {how} {said.format(when=when)}"
    if prompt.anonymous or prompt.pulse:
        said = _("At {when} I'll send you what the group said (without names).")
    else:
        said = _("At {when} I'll send you what the group said (with names).")
    return (
        _("(Your group has no shared channel, so this came by DM.)")
        + f" {how} {said.format(when=when)}"
    )


# ---------------------------------------------------------------- answering


def _round_for(session: Session, actor: Person, raw_round: str, now: datetime) -> OpenRound:
    """The open round a student may answer; a clear refusal otherwise (nothing changes)."""
    round_id = record_id(raw_round)
    found = session.get(PromptRound, round_id) if round_id is not None else None
    prompt = session.get(GroupPrompt, found.prompt_id) if found is not None else None
    group = session.get(Group, prompt.group_id) if prompt is not None else None
    if found is None or prompt is None or group is None or group.id is None:
        raise UserError(_("That prompt isn't taking answers. Please answer a newer one."))
    member = membership(session, group.id, actor.id)
    if member is None or member.role != MEMBER:
        raise NotAllowed(
            _("Only the students of {group} can answer its prompts.").format(group=group.name)
        )
    if found.closed_at is not None or now >= found.closes_at:
        closed = to_local(found.closes_at, actor.timezone or prompt.timezone)
        raise UserError(
            _(
                "This prompt closed on {day} at {time}, so answers can't be added "
                "or changed any more."
            ).format(day=local_format(closed, DAY), time=local_time(closed))
        )
    return OpenRound(found, prompt, group)


def check_can_answer(session: Session, actor: Person, raw_round: str, now: datetime) -> OpenRound:
    """The Answer button: whether the form may open (the form checks everything again)."""
    opened = _round_for(session, actor, raw_round, now)
    if opened.prompt.pulse:
        raise UserError(_("This one asks for a number: press 1 to 5 on the prompt."))
    return opened


def current_answer(session: Session, opened: OpenRound, actor: Person) -> str:
    """The actor's answer so far ("" when none), for the form to start from when editing."""
    assert opened.round.id is not None and actor.id is not None
    found = _answer_of(session, opened.round.id, actor.id)
    return found.text or "" if found is not None else ""


def _answer_of(session: Session, round_id: int, person_id: int) -> PromptAnswer | None:
    return session.exec(
        select(PromptAnswer).where(
            PromptAnswer.round_id == round_id, PromptAnswer.person_id == person_id
        )
    ).first()


def _closes(opened: OpenRound, actor: Person) -> str:
    at = to_local(opened.round.closes_at, actor.timezone or opened.prompt.timezone)
    return _("{day} at {time}").format(day=local_format(at, DAY), time=local_time(at))


def _acknowledgement(opened: OpenRound, actor: Person, text: str) -> Message:
    """The private thanks, with the ways to change one's mind until the close."""
    assert opened.round.id is not None
    args = (("round", str(opened.round.id)),)
    nameless = opened.prompt.anonymous or opened.prompt.pulse
    choices = [Choice(_("Withdraw"), WITHDRAW_ACTION, args, style="danger")]
    if not opened.prompt.pulse:
        choices.insert(0, Choice(_("Edit"), ANSWER_ACTION, args))
    if nameless:
        shared = _(
            "It will be shared without your name in {group} when the prompt "
            "closes ({closes}); until then you can change or withdraw it."
        )
    else:
        shared = _(
            "It will be shared with your name in {group} when the prompt "
            "closes ({closes}); until then you can change or withdraw it."
        )
    return Message(
        text=text + " " + shared.format(group=opened.group.name, closes=_closes(opened, actor)),
        choices=tuple(choices),
        private=True,
    )


def save_answer(
    session: Session,
    actor: Person,
    raw_round: str,
    raw_text: str,
    safety_level: str,
    now: datetime,
) -> Message:
    """Store (or replace) a student's answer, with the screen's verdict; the thanks to show.

    Refused, storing nothing: an unknown or closed round, someone not a student of the
    group, an empty answer, one over `MAX_ANSWER` characters, words for a pulse question.
    """
    opened = check_can_answer(session, actor, raw_round, now)
    text = raw_text.strip()
    if not text:
        raise UserError(
            _("Your answer is empty. Write something, or press Withdraw to take an answer back.")
        )
    if len(text) > MAX_ANSWER:
        raise UserError(
            _(
                "Please keep an answer under {max:,} characters (this one has "
                "{count:,}). Nothing was saved."
            ).format(max=MAX_ANSWER, count=len(text))
        )
    assert opened.round.id is not None and actor.id is not None
    answer = _answer_of(session, opened.round.id, actor.id)
    edited = answer is not None
    if answer is None:
        answer = PromptAnswer(round_id=opened.round.id, person_id=actor.id, answered_at=now)
    answer.text, answer.safety_level, answer.answered_at = text, safety_level, now
    session.add(answer)
    session.flush()
    thanks = _("Your answer is updated.") if edited else _("Thanks, your answer is saved.")
    return _acknowledgement(opened, actor, thanks)


def save_pulse(
    session: Session, actor: Person, raw_round: str, raw_score: str, now: datetime
) -> Message:
    """Store (or change) a pulse answer of 1 to 5; the thanks to show."""
    opened = _round_for(session, actor, raw_round, now)
    if not opened.prompt.pulse:
        raise UserError(_("This prompt asks for words: press Answer."))
    score = record_id(raw_score)
    if score not in PULSE_SCORES:
        raise UserError(_("Please press one of the numbers 1 to 5."))
    assert opened.round.id is not None and actor.id is not None
    answer = _answer_of(session, opened.round.id, actor.id)
    if answer is None:
        answer = PromptAnswer(round_id=opened.round.id, person_id=actor.id, answered_at=now)
    answer.score, answer.answered_at = score, now
    session.add(answer)
    session.flush()
    return _acknowledgement(opened, actor, _("Thanks, you chose {score}.").format(score=score))


def withdraw_answer(session: Session, actor: Person, raw_round: str, now: datetime) -> str:
    """Delete the actor's answer to an open round; what to tell them."""
    opened = _round_for(session, actor, raw_round, now)
    assert opened.round.id is not None and actor.id is not None
    answer = _answer_of(session, opened.round.id, actor.id)
    if answer is None:
        return _("You have no answer to withdraw there.")
    session.delete(answer)
    session.flush()
    return _("Your answer is withdrawn: it won't be shared.")


# ---------------------------------------------------------------- closing


@dataclass
class CloseOutcome:
    """What one pass of closing rounds did."""

    posted: int = 0  # summaries queued
    withheld: int = 0  # too few answers for an anonymous or pulse summary
    empty: int = 0  # nobody answered: nothing said

    @property
    def queued(self) -> bool:
        """True when anything went to the outbox."""
        return bool(self.posted or self.withheld)

    def lines(self) -> list[str]:
        """Log lines for the counts that are not zero."""
        counts = {
            "prompt summaries posted": self.posted,
            "prompt summaries withheld (too few answers)": self.withheld,
            "prompt rounds closed without answers": self.empty,
        }
        return nonzero_counts(counts)


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _question(prompt: GroupPrompt) -> str:
    first = prompt.text.strip().splitlines()[0] if prompt.text.strip() else ""
    return _clip(first, 120)


def shared_answers(session: Session, round_id: int) -> list[tuple[PromptAnswer, Person]]:
    """A round's answers that may be shared: never a crisis answer; by answer time."""
    rows = session.exec(
        select(PromptAnswer, Person)
        .join(Person, col(Person.id) == PromptAnswer.person_id)
        .where(PromptAnswer.round_id == round_id, PromptAnswer.safety_level != CRISIS)
        .order_by(col(PromptAnswer.answered_at), col(PromptAnswer.id))
    ).all()
    return [(answer, person) for answer, person in rows]


def pulse_lines(scores: list[int]) -> list[str]:
    """A 1-5 distribution as text bars, one line per score."""
    counts = Counter(scores)
    return [f"{s}  {'█' * counts[s] or '·'}  {counts[s]}" for s in PULSE_SCORES]


def summary_message(
    prompt: GroupPrompt, group: Group, answers: list[tuple[PromptAnswer, Person]]
) -> Message:
    """The summary post: answers with names, without them, or a pulse distribution.

    Answers are quoted whole, as written: erasure finds a person's words in delivered copies
    by their stored text, so a shortened quote would stay in the channel after erasure. The
    renderers split a long post to fit each platform.
    """
    n = len(answers)
    head = ngettext("“{question}”: {n} answer.", "“{question}”: {n} answers.", n).format(
        question=_question(prompt), n=n
    )
    if prompt.pulse:
        scores = [a.score for a, _who in answers if a.score is not None]
        average = sum(scores) / len(scores) if scores else 0.0
        body = "\n".join(
            [*pulse_lines(scores), _("Average {average:.1f} of 5.").format(average=average)]
        )
    elif prompt.anonymous:
        # Sorted by the words, not by time: the order must not tell who answered when.
        texts = sorted(a.text or "" for a, _who in answers)
        body = "\n".join(f"• {text}" for text in texts)
    else:
        body = "\n".join(f"• {p.name}: {a.text or ''}" for a, p in answers)
    return Message(
        title=_("💬 What {group} said").format(group=group.name),
        text=f"{head}\n\n{body}",
        private=False,
    )


def withheld_message(prompt: GroupPrompt, group: Group, day: date, n: int, minimum: int) -> Message:
    """For the group's mentors: the count only, and why nothing was shared."""
    closed = ngettext(
        "Prompt #{id} in {group} (“{question}”, {day}) closed with {n} answer.",
        "Prompt #{id} in {group} (“{question}”, {day}) closed with {n} answers.",
        n,
    ).format(
        id=prompt.id, group=group.name, question=_question(prompt), day=local_format(day, DAY), n=n
    )
    if prompt.pulse:
        why = _(
            "It is a pulse question and fewer than {minimum} people answered, so no summary "
            "was shared and the answers stay private."
        )
    else:
        why = _(
            "It is anonymous and fewer than {minimum} people answered, so no summary "
            "was shared and the answers stay private."
        )
    return Message(text=f"{closed} {why.format(minimum=minimum)}")


def posted_copy_of(session: Session, prompt_id: int, day: date) -> tuple[str, str] | None:
    """(platform, message id) of an occurrence's sent channel post, for the summary thread."""
    row = session.exec(
        select(Outbox).where(Outbox.dedupe_key == f"prompt:{prompt_id}:{day.isoformat()}")
    ).first()
    if row is None or row.status != OutboxStatus.SENT or not row.platform_message_id:
        return None
    return row.platform, row.platform_message_id


def _mentors(session: Session, group: Group, prompt: GroupPrompt) -> list[Person]:
    assert group.id is not None
    people = [r.person for r in members_of(session, group.id, role=GROUP_MENTOR)]
    if not people and prompt.created_by is not None:
        creator = session.get(Person, prompt.created_by)
        people = [creator] if creator is not None else []
    return people


def close_due_rounds(session: Session, settings: CoreSettings, now: datetime) -> CloseOutcome:
    """Close every round due by `now`: one summary each (keyed), or the count to mentors."""
    outcome = CloseOutcome()
    due = session.exec(
        select(PromptRound)
        .where(col(PromptRound.closed_at).is_(None), PromptRound.closes_at <= now)
        .order_by(col(PromptRound.closes_at), col(PromptRound.id))
        .limit(CLOSE_BATCH)
    ).all()
    for found in due:
        assert found.id is not None
        prompt = session.get(GroupPrompt, found.prompt_id)
        group = session.get(Group, prompt.group_id) if prompt is not None else None
        found.closed_at = now
        session.add(found)
        if prompt is None or group is None or group.id is None:
            found.outcome = EMPTY
            continue
        answers = shared_answers(session, found.id)
        if not answers:
            found.outcome = EMPTY
            outcome.empty += 1
            continue
        minimum = settings.min_group_size
        if (prompt.anonymous or prompt.pulse) and len(answers) < minimum:
            found.outcome = WITHHELD
            outcome.withheld += 1
            pushes = []
            for mentor in _mentors(session, group, prompt):
                # Each mentor reads the count in their own language.
                with speaking_to(mentor, settings):
                    message = withheld_message(
                        prompt, group, found.local_date, len(answers), minimum
                    )
                pushes.append(
                    Push(
                        dedupe_key=f"prompt-withheld:{found.id}:{mentor.id}",
                        message=message,
                        person=mentor,
                        kind=OutboxKind.PROMPT,
                    )
                )
            push_rows(session, pushes, now, settings.default_timezone)
            continue
        found.outcome = POSTED
        outcome.posted += 1
        address = channel_address(group)
        if address is not None:
            # The summary in the thread speaks the group's language.
            with speaking_in_group(group, settings):
                message = summary_message(prompt, group, answers)
            assert prompt.id is not None
            copy = posted_copy_of(session, prompt.id, found.local_date)
            if copy is not None and copy[0] == address.platform:
                message = Message(
                    title=message.title,
                    text=message.text,
                    private=False,
                    reply_to=copy[1],
                    language=message.language,
                )
            push_rows(
                session,
                [
                    Push(
                        dedupe_key=f"prompt-summary:{found.id}",
                        message=message,
                        address=address,
                        kind=OutboxKind.PROMPT,
                    )
                ],
                now,
                settings.default_timezone,
            )
            continue
        students = [r.person for r in members_of(session, group.id, role=MEMBER)]
        # By DM: one summary per language among the students.
        languages = languages_of(session, [p.id for p in students if p.id is not None], settings)
        summaries: dict[str, Message] = {}
        for language in sorted(set(languages.values())):
            with speaking(language):
                summaries[language] = summary_message(prompt, group, answers)
        push_rows(
            session,
            [
                Push(
                    dedupe_key=f"prompt-summary:{found.id}:{p.id}",
                    message=summaries[languages[p.id or 0]],
                    person=p,
                    kind=OutboxKind.PROMPT,
                )
                for p in students
            ],
            now,
            settings.default_timezone,
        )
    return outcome


# ---------------------------------------------------------------- export

CSV_COLUMNS = ("name", "email", "answered_at", "answer", "score")


def _round_to_export(
    session: Session, actor: Person, raw_prompt: str, raw_day: str
) -> tuple[PromptRound, GroupPrompt, Group]:
    prompt_id = record_id(raw_prompt)
    prompt = session.get(GroupPrompt, prompt_id) if prompt_id is not None else None
    group = session.get(Group, prompt.group_id) if prompt is not None else None
    if prompt is None or group is None or group.id is None:
        raise UserError(
            _("There is no prompt #{id}. See /prompt list.").format(
                id=raw_prompt.strip().lstrip("#")
            )
        )
    if actor.role != ADMIN and not is_group_mentor(session, actor, group.id):
        # The same answer as an unknown id: a refusal must not confirm another group's prompt.
        raise NotAllowed(
            _("There is no prompt #{id} in your groups. See /prompt list.").format(id=prompt.id)
        )
    if prompt.anonymous:
        raise UserError(
            _(
                "Prompt #{id} is anonymous, so its answers can't be exported: only the "
                "summary is shared."
            ).format(id=prompt.id)
        )
    query = select(PromptRound).where(PromptRound.prompt_id == prompt.id)
    if raw_day.strip():
        query = query.where(PromptRound.local_date == parse_day(raw_day))
    found = session.exec(query.order_by(col(PromptRound.local_date).desc())).first()
    if found is None:
        raise UserError(_("Prompt #{id} has no answers on that day yet.").format(id=prompt.id))
    return found, prompt, group


def export_answers(
    session: Session, actor: Person, raw_prompt: str, raw_day: str, now: datetime
) -> Message:
    """A round's answers as a CSV file for the group's mentors and admins (never anonymous).

    The latest round unless a day is named; crisis answers are left out (the alert has them);
    the read is audited once per student.
    """
    found, prompt, group = _round_to_export(session, actor, raw_prompt, raw_day)
    assert found.id is not None
    answers = shared_answers(session, found.id)
    audit_reads(session, actor, (p for _answer, p in answers), now, "export.prompt_answers")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for answer, person in answers:
        writer.writerow(
            (
                _csv_safe(person.name),
                person.email,
                answer.answered_at.isoformat(),
                _csv_safe(answer.text or ""),
                "" if answer.score is None else str(answer.score),
            )
        )
    filename = f"prompt-{prompt.id}-{found.local_date.isoformat()}.csv"
    # English says "answer(s)" for any count; each language has its own plural forms.
    return Message(
        text=ngettext(
            "{n} answer(s) to prompt #{id} in {group} on {day}.",
            "{n} answer(s) to prompt #{id} in {group} on {day}.",
            len(answers),
        ).format(
            n=len(answers), id=prompt.id, group=group.name, day=local_format(found.local_date, DAY)
        ),
        attachment=Attachment(filename, buffer.getvalue(), mime_type="text/csv"),
    )


def _csv_safe(value: str) -> str:
    """A cell a spreadsheet won't run as a formula (a student's words may start with '=')."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def describe_options(prompt: GroupPrompt) -> str:
    """The options of a prompt for `/prompt list`: anonymous, pulse, the close."""
    parts = []
    if prompt.anonymous:
        parts.append(_("anonymous"))
    if prompt.pulse:
        parts.append(_("pulse 1-5"))
    parts.append(_("closes after {hours}h").format(hours=prompt.close_hours))
    return ", ".join(parts)
