"""Group prompts: a mentor's recurring question in the group's channel ("Share one win...").

```
/prompt add GROUP DAYS HH:MM [TIME ZONE] [anonymous] [pulse] [close_hours=N] TEXT
                                  e.g. /prompt add Study skills fri 15:00 Share one win
/prompt list [GROUP]
/prompt remove ID
/prompt export ID [YYYY-MM-DD]    a round's answers as CSV (never an anonymous prompt's)
```

Each occurrence takes answers through the bot for `close_hours` (default 24), then one
summary is shared (bot.services.prompt_answers).

DAYS is cron-style, as for check-in schedules (`fri`, `mon-fri`, `mon,wed`, `*`). The time is
wall-clock time in the mentor's own zone unless a zone follows it. The minute tick posts each
occurrence once (`post_due_prompts`, the prompts feature's job in `bot.tick.run_due_work`): an
occurrence is named by its local date, `prompt:{id}:{YYYY-MM-DD}`, with the DST rules of
check-ins (`bot.services.occurrences.local_instant`): a time in a spring-forward gap fires
once, as far after the gap as it was into it; a time repeated by a fall-back fires once, the
first time. After downtime an occurrence within the catch-up grace window is still posted;
an older one is skipped (a week-old question only adds noise).

Where it goes: a group bound to a Slack or Discord channel gets one channel post that asks
for answers in its thread. Discord opens that thread on the post (`Message.thread_name`);
Slack needs nothing opened (anyone can reply in thread) and the post says so. A group with no
channel (and the console, which has none) gets the prompt as a DM to each student member,
`prompt:{id}:{date}:{person}`. The posted message's ids stay on its outbox row
(`posted_prompt`), so a later reminder could answer in the same thread.

The text is the mentor's, not a student's, so it is not safety-screened as student text; it
is validated for length and posted with mentions disabled on every platform.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, func, select

from bot.args import record_id
from bot.config import CoreSettings
from bot.errors import NotAllowed, UserError
from bot.i18n import N_, _, speaking
from bot.i18n.dates import DAY_TIME, local_format
from bot.localtime import is_valid_zone, to_local
from bot.model import Message, PostedCopy
from bot.outbox import Push, push_rows
from bot.outcome_lines import nonzero_counts
from bot.people import ADMIN
from bot.services import prompt_answers as answers
from bot.services.groups import (
    GROUP_MENTOR,
    MEMBER,
    channel_address,
    group_named,
    groups_of,
    is_group_mentor,
    members_of,
    require_group_mentor,
)
from bot.services.language import languages_of, speaking_in_group
from bot.services.occurrences import occurrences_between
from bot.services.schedules import ScheduleRule, format_days, parse_days, parse_local_time
from storage.enums import OutboxKind, OutboxStatus
from storage.tables import Group, GroupPrompt, Outbox, Person

log = logging.getLogger(__name__)

MAX_PROMPT_TEXT = 500
# A channel flooded with prompts stops being read; ten cover daily plus weekly themes.
MAX_PROMPTS_PER_GROUP = 10
MAX_THREAD_NAME = 90
# Marked only: shown with `_(...)` in the reader's language.
THREAD_HINT = N_("🧵 Please reply in this message's thread, so the conversation stays together.")
NO_CHANNEL_HINT = N_(
    "(Your group has no shared channel yet, so bring your answer to the next session.)"
)
USAGE = N_(
    "Use /prompt add GROUP DAYS HH:MM [TIME ZONE] [anonymous] [pulse] [close_hours=N] TEXT "
    "(e.g. /prompt add Study skills fri 15:00 Share one win from this week), /prompt list "
    "[GROUP], /prompt remove ID or /prompt export ID [YYYY-MM-DD]."
)
_CLOSE_OPTION = re.compile(r"^close(?:_hours)?=(\S+?)h?$")
# GROUP (any words, the shortest that works) DAYS HH:MM [rest]: the time anchors the split.
_ADD = re.compile(
    r"^(?P<group>.+?)\s+(?P<days>\S+)\s+(?P<time>\d{1,2}:\d{2})(?:\s+(?P<rest>.*))?$", re.S
)


@dataclass(frozen=True)
class PromptSpec:
    """What `/prompt add` asked for, before validation."""

    group: str
    days: str
    local_time: str
    text: str
    timezone: str | None = None
    anonymous: bool = False
    pulse: bool = False
    close_hours: int = answers.DEFAULT_CLOSE_HOURS


def parse_add(raw: str) -> PromptSpec:
    """`GROUP DAYS HH:MM [ZONE] [OPTIONS] TEXT` as a spec; the text keeps its line breaks.

    The options are leading words of the text: `anonymous`, `pulse`, `close_hours=N`.
    """
    match = _ADD.match(raw.strip())
    if match is None:
        raise UserError(_(USAGE))
    rest = (match.group("rest") or "").strip()
    zone_name: str | None = None
    first, _space, after = rest.partition(" ")
    if first and ("/" in first or first.upper() == "UTC") and is_valid_zone(first):
        zone_name, rest = first, after.strip()
    group = match.group("group").strip().strip("\"'“”")
    anonymous = pulse = False
    close_hours = answers.DEFAULT_CLOSE_HOURS
    while rest:
        first, _space, after = rest.partition(" ")
        # Options are lower case exactly: "Anonymous feedback welcome" is the text.
        word = first.strip()
        close = _CLOSE_OPTION.match(word)
        if word == "anonymous":
            anonymous = True
        elif word == "pulse":
            pulse = True
        elif close is not None:
            hours = record_id(close.group(1))
            if hours is None or hours > answers.MAX_CLOSE_HOURS:
                raise UserError(
                    _("close_hours takes a number of hours from 1 to {max}, not '{got}'.").format(
                        max=answers.MAX_CLOSE_HOURS, got=close.group(1)
                    )
                )
            close_hours = hours
        else:
            break
        rest = after.strip()
    return PromptSpec(
        group,
        match.group("days"),
        match.group("time"),
        rest,
        zone_name,
        anonymous=anonymous,
        pulse=pulse,
        close_hours=close_hours,
    )


def add_prompt(
    session: Session,
    settings: CoreSettings,
    actor: Person | None,
    spec: PromptSpec,
    now: datetime,
) -> GroupPrompt:
    """Validate completely and store a prompt; any problem raises UserError, storing nothing.

    Only the group's mentors and admins may (`actor=None` is the CLI). The time zone is the
    one named, else the actor's, else the programme's.
    """
    group = group_named(session, spec.group)
    require_group_mentor(session, actor, group, now, "prompt.add")
    assert group.id is not None
    days = parse_days(spec.days)
    local_time = parse_local_time(spec.local_time)
    text = spec.text.strip()
    if not text:
        raise UserError(
            _("What should the prompt say? Put the text after the time.") + " " + _(USAGE)
        )
    if len(text) > MAX_PROMPT_TEXT:
        raise UserError(
            _("Please keep a prompt under {max} characters (this one has {count}).").format(
                max=MAX_PROMPT_TEXT, count=len(text)
            )
        )
    tz = spec.timezone or (actor.timezone if actor is not None else None)
    if not tz or not is_valid_zone(tz):
        tz = settings.default_timezone
    active = session.exec(
        select(func.count())
        .select_from(GroupPrompt)
        .where(GroupPrompt.group_id == group.id, col(GroupPrompt.active).is_(True))
    ).one()
    if int(active) >= MAX_PROMPTS_PER_GROUP:
        raise UserError(
            _(
                "{group} already has {max} prompts. Remove one first "
                "(/prompt list shows their ids)."
            ).format(group=group.name, max=MAX_PROMPTS_PER_GROUP)
        )
    prompt = GroupPrompt(
        group_id=group.id,
        text=text,
        days=format_days(days),
        local_time=local_time.strftime("%H:%M"),
        timezone=tz,
        created_by=actor.id if actor is not None else None,
        created_at=now,
        anonymous=spec.anonymous,
        pulse=spec.pulse,
        close_hours=spec.close_hours,
    )
    session.add(prompt)
    session.flush()
    return prompt


def _load(session: Session, raw_id: str) -> GroupPrompt:
    prompt_id = record_id(raw_id)
    prompt = session.get(GroupPrompt, prompt_id) if prompt_id is not None else None
    if prompt is None or not prompt.active:
        raise UserError(
            _("There is no prompt #{id}. See /prompt list.").format(id=raw_id.strip().lstrip("#"))
        )
    return prompt


def remove_prompt(
    session: Session, actor: Person | None, raw_id: str, now: datetime
) -> GroupPrompt:
    """Switch a prompt off (kept, so its past posts still have their cause)."""
    prompt = _load(session, raw_id)
    group = session.get(Group, prompt.group_id)
    assert group is not None
    if actor is not None and not is_group_mentor(session, actor, prompt.group_id):
        # Same answer as an unknown id: a refusal must not confirm another group's prompt.
        raise NotAllowed(
            _("There is no prompt #{id} in your groups. See /prompt list.").format(id=prompt.id)
        )
    require_group_mentor(session, actor, group, now, "prompt.remove")
    prompt.active = False
    session.add(prompt)
    return prompt


def prompts_of(session: Session, group_ids: set[int] | None) -> list[tuple[GroupPrompt, Group]]:
    """Active prompts with their groups, by group name then id (`None`: every group)."""
    query = (
        select(GroupPrompt, Group)
        .join(Group, col(Group.id) == GroupPrompt.group_id)
        .where(col(GroupPrompt.active).is_(True))
        .order_by(col(Group.name), col(GroupPrompt.id))
    )
    if group_ids is not None:
        if not group_ids:
            return []
        query = query.where(col(GroupPrompt.group_id).in_(group_ids))
    return [(prompt, group) for prompt, group in session.exec(query).all()]


def _mentored_groups(session: Session, actor: Person) -> set[int] | None:
    """The groups whose prompts the actor manages: None means all (admins)."""
    if actor.role == ADMIN:
        return None
    return {
        gid
        for gid in groups_of(session, actor)
        if any(r.person.id == actor.id for r in members_of(session, gid, role=GROUP_MENTOR))
    }


def describe(prompt: GroupPrompt, group: Group) -> str:
    """One line a mentor can read."""
    days = _("every day") if prompt.days == "*" else prompt.days
    where = (
        _("in the {platform} channel").format(platform=group.platform)
        if group.platform and group.channel_id
        else _("by DM to members")
    )
    text = prompt.text if len(prompt.text) <= 80 else prompt.text[:79] + "…"
    return _("#{id} {group}: {days} at {time} {zone}, {where} ({options}): “{text}”").format(
        id=prompt.id,
        group=group.name,
        days=days,
        time=prompt.local_time,
        zone=prompt.timezone,
        where=where,
        options=answers.describe_options(prompt),
        text=text,
    )


def prompt_message(
    prompt: GroupPrompt,
    group: Group,
    *,
    channel: bool,
    round_id: int | None = None,
    closes_at: datetime | None = None,
) -> Message:
    """The post: the mentor's text, how to answer (the round's buttons) and when it closes."""
    if round_id is not None and closes_at is not None:
        hint = answers.answer_hint(prompt, closes_at, channel=channel)
        choices = answers.answer_choices(prompt, round_id)
    else:
        hint, choices = _(THREAD_HINT if channel else NO_CHANNEL_HINT), ()
    name = prompt.text.splitlines()[0] if prompt.text.strip() else group.name
    return Message(
        title=f"💬 {group.name}",
        text=f"{prompt.text}\n\n{hint}",
        choices=choices,
        private=False,
        thread_name=name if len(name) <= MAX_THREAD_NAME else name[: MAX_THREAD_NAME - 1] + "…",
    )


def dedupe_key(prompt_id: int, local_date: date) -> str:
    """The outbox key of one occurrence's channel post."""
    return f"prompt:{prompt_id}:{local_date.isoformat()}"


def posted_prompt(session: Session, prompt_id: int, local_date: date) -> PostedCopy | None:
    """Where an occurrence's channel post landed (platform, channel, message ts), once sent."""
    row = session.exec(
        select(Outbox).where(Outbox.dedupe_key == dedupe_key(prompt_id, local_date))
    ).first()
    if row is None or row.status != OutboxStatus.SENT or not row.platform_message_id:
        return None
    channel = row.platform_channel_id or row.channel_id
    if not channel:
        return None
    return PostedCopy(row.platform, channel, row.platform_message_id)


@dataclass
class PromptTickOutcome:
    """What one pass of the tick did with group prompts."""

    posted: int = 0  # channel posts queued
    direct: int = 0  # DMs queued (groups without a channel)
    too_late: int = 0  # occurrences beyond the catch-up grace window, skipped

    @property
    def queued(self) -> bool:
        """True when anything went to the outbox."""
        return bool(self.posted or self.direct)

    def lines(self) -> list[str]:
        """Log lines for the counts that are not zero."""
        counts = {
            "group prompts posted": self.posted,
            "group prompts sent by DM": self.direct,
            "group prompts skipped (too late after downtime)": self.too_late,
        }
        return nonzero_counts(counts)


def post_due_prompts(
    session: Session, settings: CoreSettings, start: datetime, now: datetime
) -> PromptTickOutcome:
    """Queue every prompt occurrence in `(start, now]`; keyed, so a repeat queues nothing."""
    outcome = PromptTickOutcome()
    grace = timedelta(minutes=settings.scheduling.catchup_grace_minutes)
    for prompt, group in prompts_of(session, None):
        assert prompt.id is not None and group.id is not None
        try:
            rule = ScheduleRule(parse_days(prompt.days), parse_local_time(prompt.local_time))
            occurrences = occurrences_between(
                rule, prompt.timezone, max(start, prompt.created_at), now
            )
        except UserError as exc:  # a row edited by hand into nonsense must not stop the rest
            log.error("prompt #%s is invalid and was skipped: %s", prompt.id, exc.message)
            continue
        for occurrence in occurrences:
            if now - occurrence.at > grace:
                outcome.too_late += 1
                continue
            key = dedupe_key(prompt.id, occurrence.local_date)
            # The round takes the answers; keyed like the post, so a repeat opens nothing.
            round_id = answers.open_round(session, prompt, occurrence.local_date, occurrence.at)
            closes_at = occurrence.at + timedelta(hours=prompt.close_hours)
            address = channel_address(group)
            if address is not None:
                # A channel post speaks the group's language.
                with speaking_in_group(group, settings):
                    message = prompt_message(
                        prompt, group, channel=True, round_id=round_id, closes_at=closes_at
                    )
                outcome.posted += push_rows(
                    session,
                    [
                        Push(
                            dedupe_key=key, message=message, address=address, kind=OutboxKind.PROMPT
                        )
                    ],
                    now,
                    settings.default_timezone,
                )
                continue
            students = [r.person for r in members_of(session, group.id, role=MEMBER)]
            # A DM speaks its reader's language: one message per language among the students.
            languages = languages_of(
                session, [p.id for p in students if p.id is not None], settings
            )
            messages: dict[str, Message] = {}
            for language in sorted(set(languages.values())):
                with speaking(language):
                    messages[language] = prompt_message(
                        prompt, group, channel=False, round_id=round_id, closes_at=closes_at
                    )
            outcome.direct += push_rows(
                session,
                [
                    Push(
                        dedupe_key=f"{key}:{p.id}",
                        message=messages[languages[p.id or 0]],
                        person=p,
                        kind=OutboxKind.PROMPT,
                    )
                    for p in students
                ],
                now,
                settings.default_timezone,
            )
    return outcome


def run_chat_command(
    session: Session, settings: CoreSettings, actor: Person, text: str, now: datetime
) -> str:
    """`/prompt ...` for a group's mentors and admins; returns the answer text."""
    sub, _space, rest = text.strip().partition(" ")
    sub = sub.lower() or "list"
    rest = rest.strip()
    if sub == "add":
        prompt = add_prompt(session, settings, actor, parse_add(rest), now)
        group = session.get(Group, prompt.group_id)
        assert group is not None
        first = occurrences_between(
            ScheduleRule(parse_days(prompt.days), parse_local_time(prompt.local_time)),
            prompt.timezone,
            now,
            now + timedelta(days=8),
        )
        when = (
            " "
            + _("The first one goes out {when}.").format(
                when=local_format(to_local(first[0].at, prompt.timezone), DAY_TIME)
            )
            if first
            else ""
        )
        return _("Added prompt {prompt}.").format(prompt=describe(prompt, group)) + when
    if sub == "list":
        if rest:
            group = group_named(session, rest)
            require_group_mentor(session, actor, group, now, "prompt.list")
            rows = prompts_of(session, {group.id} if group.id is not None else set())
        else:
            rows = prompts_of(session, _mentored_groups(session, actor))
        if not rows:
            return _("No group prompts yet.") + " " + _(USAGE)
        return _("Group prompts:") + "\n" + "\n".join(describe(p, g) for p, g in rows)
    if sub in ("remove", "delete", "rm", "off"):
        if not rest or " " in rest:
            raise UserError(_("Use /prompt remove ID; the ids are in /prompt list."))
        prompt = remove_prompt(session, actor, rest, now)
        return _("Removed prompt #{id}. It won't be posted again.").format(id=prompt.id)
    raise UserError(_(USAGE))


def run_export(session: Session, actor: Person, text: str, now: datetime) -> Message:
    """`/prompt export ID [YYYY-MM-DD]`: a round's answers as CSV (the latest by default)."""
    words = text.split()
    if not words or len(words) > 2:
        raise UserError(_("Use /prompt export ID [YYYY-MM-DD]; the ids are in /prompt list."))
    return answers.export_answers(session, actor, words[0], words[1] if len(words) > 1 else "", now)
