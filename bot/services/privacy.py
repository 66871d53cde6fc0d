"""Data rights and retention: erase a person, purge expired free text, confirm deletions.

Erasure keeps exactly one thing: a de-identified record of each alert raised about the
person (kind, severity, timestamps, who acknowledged it), because the programme must be able
to show how fast it answered safety alerts. Everything the person wrote, everything written
about them, and everything that links them to a platform account is deleted.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, MetaData, delete, or_, update
from sqlalchemy.orm import Mapped
from sqlmodel import Session, SQLModel, col, select

from bot.args import LIKE_ESCAPE, like_pattern
from bot.audit import audit
from bot.config import CoreSettings
from bot.errors import NotAllowed, UserError
from bot.i18n import N_, _, ngettext
from bot.outbox import COPY_KINDS, OUTBOX_ROWS_WRITTEN
from bot.people import UNROSTERED
from bot.personal_data import Erase, PersonalData
from bot.services.export import column_of, owned_by
from storage.crypto import sign, verify
from storage.db import scrub_after_commit
from storage.enums import AlertSeverity, AlertStatus, OutboxKind, OutboxStatus
from storage.tables import (
    Alert,
    AlertEvent,
    AuditLog,
    Checkin,
    Identity,
    MentorAssignment,
    Outbox,
    Person,
    ProcessedEvent,
)

# Alerts someone still has to act on (bot.services.alerts.UNRESOLVED; not imported, to keep
# the privacy module free of the alert service).
UNRESOLVED_ALERTS = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.FOLLOWING_UP)
# A delete-confirmation button works this long; an old one cannot be replayed later.
CONFIRM_MINUTES = 10
ERASED_NAME = "Erased person"
# Outbox rows in these states are history; after the retention period they go with the text.
# Rerouted: its copy went to someone else.
FINISHED_OUTBOX = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.REROUTED)
# Free text shorter than this would match unrelated messages when looking for copies of what
# the person wrote (a note "ok"). Their name and email are matched as whole words instead, at
# any length: "Al" is found in "Hi Al!" but not in "Alex".
MIN_NEEDLE = 8
# What a name or quote is replaced with in copies that stay (someone else's message).
REMOVED = "[removed]"
# Where the bot can delete or edit what it delivered (a terminal can't unprint).
COPY_PLATFORMS = ("slack", "discord")
UNDELIVERED_OUTBOX = (OutboxStatus.PENDING, OutboxStatus.SENDING)
# Platform event ids (and Slack request signatures) are kept this long against retries and
# replays, then purged: far longer than any platform retries (Slack: minutes).
PROCESSED_EVENT_DAYS = 7

log = logging.getLogger(__name__)

# Columns that reference a person but hold nothing personal of theirs, or that erasure
# handles itself; every other such column must be declared by a feature (`PersonalData`):
# tests/bot/test_personal_data.py fails until a new one is, so erasure never misses a table.
NOT_PERSONAL: Mapping[tuple[str, str], str] = {
    ("alert", "mentor_id"): "the staff member told; the alert itself is de-identified",
    ("alert", "acknowledged_by"): "what staff did about an alert (kept for response times)",
    ("alert", "follow_up_by"): "what staff did about an alert (kept for response times)",
    ("alert", "resolved_by"): "what staff did about an alert (kept for response times)",
    ("mentor_note", "author_id"): "the mentor who wrote it; the note goes with its student",
    ("workshop_session", "created_by"): "the staff member who scheduled it",
    ("workshop_series", "created_by"): "the staff member who scheduled it",
    ("group_prompt", "created_by"): "the staff member who wrote it",
    ("pairing_round", "started_by"): "the staff member who started it",
    ("audit_log", "actor_id"): "who acted; kept, pointing at the anonymised person",
    ("outbox", "person_id"): "erase_person removes it first, with the copies on platforms",
    ("meeting", "created_by"): "who booked or proposed it: its own student or mentor",
    ("meeting", "changed_by"): "who moved or cancelled it: its own student or mentor",
}
# Declared tables that erasure keeps, each de-identified by this module's own steps.
DEIDENTIFIED: frozenset[str] = frozenset({"alert", "alert_event", "audit_log"})


def erased_references(tables: Sequence[PersonalData]) -> frozenset[tuple[str, str]]:
    """Every (table, column) naming a person whose rows the declarations erase or keep."""
    return frozenset(
        (table.table_name, column)
        for table in tables
        if table.through is None
        for column in (table.owner, *table.also_erase)
    )


def undeclared_references(
    metadata: MetaData, tables: Sequence[PersonalData]
) -> set[tuple[str, str]]:
    """Columns referencing `person.id` that no feature declares and NOT_PERSONAL doesn't list.

    Empty for the bot's schema (a test holds it so): a new feature's table that names a person
    cannot be forgotten by export and erasure.
    """
    references = {
        (table.name, column.name)
        for table in metadata.sorted_tables
        for column in table.columns
        for fk in column.foreign_keys
        if fk.target_fullname == "person.id"
    }
    return references - erased_references(tables) - set(NOT_PERSONAL)


def _erase_order(tables: Sequence[PersonalData]) -> list[PersonalData]:
    """The tables to delete from, rows that point at others first (an update before its goal)."""
    order = {t.name: i for i, t in enumerate(SQLModel.metadata.sorted_tables)}
    doomed = [t for t in tables if t.erase is Erase.DELETE]
    return sorted(doomed, key=lambda t: -order[t.table_name])


@dataclass
class ErasureReport:
    """What an erasure removed, by kind (for the CLI and the audit log)."""

    counts: dict[str, int] = field(default_factory=dict)
    # Delivered messages queued for deletion or editing on each platform.
    copies: dict[str, int] = field(default_factory=dict)
    # Delivered messages that quote or name the person where the bot can't reach them.
    copies_left: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        """Count removed rows of one kind."""
        if count:
            self.counts[kind] = self.counts.get(kind, 0) + count

    def summary(self) -> str:
        """A one-line summary such as 'moods 3, messages 1'."""
        return ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "nothing"


# Marked only: shown with `_(...)` (brand names stay as they are in every language).
PLATFORM_NAMES = {"slack": "Slack", "discord": "Discord", "console": N_("the terminal")}


def _platforms(counts: dict[str, int]) -> str:
    names = [_(PLATFORM_NAMES[p]) if p in PLATFORM_NAMES else p for p in sorted(counts)]
    if len(names) == 1:
        return names[0]
    return _("{names} and {last}").format(names=" and ".join(names[:-1]), last=names[-1])


def erasure_notice(report: ErasureReport) -> str:
    """What the person is told after erasure: what went, what is going, what can't be removed.

    Never "everything is gone" while copies remain: the copies queued for deletion are
    counted, and what no one here can delete is named.
    """
    parts = [
        _(
            "Everything you wrote and everything stored about you has been deleted from the "
            "programme's database, and this account is no longer linked to the programme."
        )
    ]
    queued = sum(report.copies.values())
    if queued:
        # English says "message(s)" for any count; each language has its own plural forms.
        parts.append(
            ngettext(
                "I'm also deleting or editing the {n} message(s) I had sent on "
                "{platforms} that were to you, about you or quoted you (your "
                "check-ins, alerts to your mentor); that takes a few minutes. If the platform "
                "refuses one, the programme lead is told so they can remove it by hand.",
                "I'm also deleting or editing the {n} message(s) I had sent on "
                "{platforms} that were to you, about you or quoted you (your "
                "check-ins, alerts to your mentor); that takes a few minutes. If the platform "
                "refuses one, the programme lead is told so they can remove it by hand.",
                queued,
            ).format(n=queued, platforms=_platforms(report.copies))
        )
    left = sum(report.copies_left.values())
    if left:
        parts.append(
            ngettext(
                "{n} message(s) I sent on {platforms} can't be deleted by me.",
                "{n} message(s) I sent on {platforms} can't be deleted by me.",
                left,
            ).format(n=left, platforms=_platforms(report.copies_left))
        )
    parts.append(
        _(
            "What I can't remove: the messages you typed yourself in our chat (you may be able "
            "to delete them in your app), my direct replies to you there, and any copy someone "
            "made outside this bot (a forwarded message, a screenshot, a note)."
        )
    )
    parts.append(
        _(
            "Take care, and if you need support later, your programme lead or the resources "
            "you've seen are still there."
        )
    )
    return "\n\n".join(parts)


def _delete(session: Session, model: type[SQLModel], *criteria: ColumnElement[bool]) -> int:
    result = session.execute(
        delete(model).where(*criteria).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _ids(session: Session, column: Mapped[int | None], *criteria: ColumnElement[bool]) -> list[int]:
    return [i for i in session.exec(select(column).where(*criteria)).all() if i is not None]


def open_crisis_alert(session: Session, person: Person) -> Alert | None:
    """An urgent alert about the person that no mentor has acknowledged yet."""
    return session.exec(
        select(Alert).where(
            Alert.student_id == person.id,
            Alert.severity == AlertSeverity.URGENT,
            col(Alert.acknowledged_at).is_(None),
        )
    ).first()


def students_of(session: Session, mentor: Person) -> list[Person]:
    """The active students who have this person as mentor or backup mentor, by email."""
    rows = session.exec(
        select(Person)
        .join(MentorAssignment, col(MentorAssignment.student_id) == Person.id)
        .where(
            MentorAssignment.mentor_id == mentor.id,
            Person.active == True,  # noqa: E712
            col(Person.deleted_at).is_(None),
        )
        .order_by(col(Person.email))
    ).all()
    # A student with this person as both mentor and backup is listed once.
    unique = {person.id: person for person in rows}
    return list(unique.values())


def reassign_students(
    session: Session, mentor: Person, to: Person, now: datetime, *, actor_id: int | None
) -> int:
    """Give a mentor's students (and their unresolved alerts) to another active mentor.

    Called before erasing a mentor, so no student is left without one. Where `to` already is
    the student's other mentor, the duplicate assignment is dropped instead. Audited.
    """
    if to.id == mentor.id or to.role not in ("mentor", "admin") or not to.active:
        raise UserError(
            _("{email} isn't another active mentor, so I can't reassign to them.").format(
                email=to.email
            )
        )
    assert to.id is not None
    assignments = session.exec(
        select(MentorAssignment).where(MentorAssignment.mentor_id == mentor.id)
    ).all()
    moved = 0
    for assignment in assignments:
        other = session.exec(
            select(MentorAssignment).where(
                MentorAssignment.student_id == assignment.student_id,
                MentorAssignment.kind != assignment.kind,
                MentorAssignment.mentor_id == to.id,
            )
        ).first()
        if other is not None:
            session.delete(assignment)  # `to` is their other mentor already
        else:
            assignment.mentor_id = to.id
            session.add(assignment)
        moved += 1
    session.execute(
        update(Alert)
        .where(col(Alert.mentor_id) == mentor.id, col(Alert.status).in_(UNRESOLVED_ALERTS))
        .values(mentor_id=to.id)
        .execution_options(synchronize_session=False)
    )
    audit(session, now, actor_id, "reassign", mentor.id, detail=f"{moved} assignment(s) to {to.id}")
    session.flush()
    return moved


def erase_person(
    session: Session,
    person: Person,
    now: datetime,
    *,
    actor_id: int | None,
    via: str,
    tables: Sequence[PersonalData],
) -> ErasureReport:
    """Erase a person's personal data and free text in the caller's transaction.

    The person row stays (alerts and the audit log point at it) but is anonymised and made
    inactive, so the platform accounts can never resolve to it again. `via` names the path
    for the audit log ("self-service", "cli"). `tables` are the features' declared tables
    holding personal data (`Registry.personal_data`): their rows go, or are de-identified.
    """
    unknown = {t.table_name for t in tables if t.erase is Erase.KEEP} - DEIDENTIFIED
    if unknown:
        # A table kept on erasure must be de-identified by a step here, never left as it is.
        raise ValueError(f"no de-identification step for {sorted(unknown)}")
    assert person.id is not None
    pid = person.id
    report = ErasureReport()
    # Gather the person's own text, name and platform ids first: copies elsewhere are found
    # by them, and the rows that hold them are deleted below.
    traces = _traces(session, person, tables)

    checkin_ids = _ids(session, col(Checkin.id), col(Checkin.person_id) == pid)
    alert_ids = _ids(session, col(Alert.id), col(Alert.student_id) == pid)

    # Outbox first: its rows reference check-ins and carry copies of the person's text.
    theirs = or_(
        col(Outbox.person_id) == pid,
        col(Outbox.alert_id).in_(alert_ids),
        col(Outbox.checkin_id).in_(checkin_ids),
        col(Outbox.user_id).in_(traces.addresses),
        col(Outbox.channel_id).in_(traces.addresses),
    )
    # What was delivered about them is deleted on the platform too (queued, then the rows go).
    _queue_copy_removal(session, now, pid, report, theirs)
    report.add(
        "outbox messages", _delete(session, Outbox, theirs, ~col(Outbox.kind).in_(COPY_KINDS))
    )
    report.add("outbox messages", _scrub_outbox(session, now, pid, report, traces))
    report.add("records naming them", _scrub_details(session, traces))
    # The copies queued above are pushes too: the adapter wakes the delivery loop for them.
    queued = sum(report.copies.values())
    session.info[OUTBOX_ROWS_WRITTEN] = session.info.get(OUTBOX_ROWS_WRITTEN, 0) + queued
    # Which rows are theirs is worked out before any go (a milestone is found by its goal).
    doomed = [(table, _theirs(session, table, pid)) for table in _erase_order(tables)]
    for table, criterion in doomed:
        report.add(table.label, _delete(session, table.table, criterion))
    report.add("alerts de-identified", _deidentify_alerts(session, pid, alert_ids))

    person.email = f"erased-{pid}@invalid"
    person.name = ERASED_NAME
    person.timezone = None
    person.country = None
    person.preferred_platform = None
    person.paused_until = None
    person.active = False
    person.deleted_at = now
    session.add(person)
    audit(session, now, actor_id, "erase", pid, detail=f"via {via}: {report.summary()}")
    session.flush()
    scrub_after_commit(session)
    return report


def _theirs(session: Session, table: PersonalData, pid: int) -> ColumnElement[bool]:
    """The rows of a declared table that erasure removes: theirs, and any `also_erase`."""
    criterion = owned_by(session, table, pid)
    also = [column_of(table.table, column) == pid for column in table.also_erase]
    return or_(criterion, *also) if also else criterion


def _their_text(session: Session, person: Person, tables: Sequence[PersonalData]) -> list[str]:
    """What the person wrote or was written about them (long enough to look for elsewhere).

    Every declared free-text and quoted column of their rows (notes, messages, excerpts,
    goal titles).
    """
    assert person.id is not None
    texts: list[str | None] = []
    for table in tables:
        columns = (*table.free_text, *table.quoted)
        if not columns:
            continue
        criterion = owned_by(session, table, person.id)
        for column in columns:
            texts += session.exec(select(column_of(table.table, column)).where(criterion)).all()
    return sorted({t.strip() for t in texts if t and len(t.strip()) >= MIN_NEEDLE})


def _whole_word(text: str, *, ignore_case: bool) -> re.Pattern[str] | None:
    """`text` as a whole word (any run of spaces inside), or None for blank text."""
    parts = text.split()
    if not parts:
        return None
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(p) for p in parts) + r"(?!\w)"
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)


@dataclass(frozen=True)
class Traces:
    """What identifies a person in stored text and rows."""

    # Free text they wrote or was written about them, matched as substrings.
    texts: tuple[str, ...]
    # Their name (case as written) and email, matched as whole words at any length.
    names: tuple[re.Pattern[str], ...]
    # Their platform user ids, DM channel ids and email (a console address).
    addresses: tuple[str, ...]
    # LIKE patterns for a first, cheap pass over plain-text columns.
    like: tuple[str, ...]

    def found_in(self, value: str) -> bool:
        """True when `value` quotes their text or names them."""
        return any(t in value for t in self.texts) or any(n.search(value) for n in self.names)

    def scrub(self, value: str) -> str:
        """`value` with their text and name replaced by REMOVED."""
        for text in self.texts:
            value = value.replace(text, REMOVED)
        for name in self.names:
            value = name.sub(REMOVED, value)
        return value


def _traces(session: Session, person: Person, tables: Sequence[PersonalData]) -> Traces:
    """Gather the person's traces before anything of theirs is deleted."""
    names = [
        _whole_word(person.name, ignore_case=False),
        _whole_word(person.email, ignore_case=True),
    ]
    identities = session.exec(select(Identity).where(Identity.person_id == person.id)).all()
    addresses = {i.user_id for i in identities} | {
        i.dm_channel_id for i in identities if i.dm_channel_id
    }
    addresses.add(person.email)
    like = tuple(like_pattern(part) for part in (*person.name.split()[:1], person.email) if part)
    return Traces(
        texts=tuple(_their_text(session, person, tables)),
        names=tuple(n for n in names if n is not None),
        addresses=tuple(sorted(a for a in addresses if a)),
        like=like,
    )


def _walk_strings(value: Any, change: Any) -> Any:
    """`value` (parsed JSON) with `change` applied to every string in it."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_walk_strings(v, change) for v in value]
    if isinstance(value, dict):
        return {k: _walk_strings(v, change) for k, v in value.items()}
    return value


def _payload_strings(payload: str) -> list[str]:
    """Every string in an outbox payload (opened: JSON escapes non-ASCII names)."""
    found: list[str] = []

    def collect(value: str) -> str:
        found.append(value)
        return value

    try:
        _walk_strings(json.loads(payload), collect)
    except ValueError:
        found.append(payload)
    return found


def _scrubbed_payload(payload: str, traces: Traces) -> str:
    """The payload with their text and name replaced, still a valid serialised message."""
    try:
        return json.dumps(_walk_strings(json.loads(payload), traces.scrub))
    except ValueError:
        return traces.scrub(payload)


def _copy_row(pid: int, now: datetime, kind: str, row: Outbox, payload: str) -> Outbox:
    """An outbox row deleting or editing the message `row` delivered."""
    return Outbox(
        # Unique per delivered copy: erasing twice (or a retried erasure) queues it once.
        dedupe_key=f"erase:{pid}:{kind}:{row.id}",
        platform=row.platform,
        channel_id=row.platform_channel_id,
        platform_message_id=row.platform_message_id,
        kind=kind,
        payload=payload,
        next_attempt_at=now,
        created_at=now,
    )


def _delivered_copy(row: Outbox) -> bool:
    return bool(
        row.status == OutboxStatus.SENT and row.platform_message_id and row.platform_channel_id
    )


def _queue_copy_removal(
    session: Session,
    now: datetime,
    pid: int,
    report: ErasureReport,
    theirs: ColumnElement[bool],
) -> None:
    """Queue the deletion of every delivered message to or about the person.

    Their check-ins and replies in their DM, alerts about them in mentors' DMs: the delivery
    loop deletes each through the platform's API (paced like any send; a refusal is reported
    to the admins). Rows kept only as history (the console) are counted as left.
    """
    rows = session.exec(
        select(Outbox).where(
            theirs,
            col(Outbox.status) == OutboxStatus.SENT,
            col(Outbox.platform_message_id).is_not(None),
            ~col(Outbox.kind).in_(COPY_KINDS),
        )
    ).all()
    empty = json.dumps({"text": ""})
    for row in rows:
        if not _delivered_copy(row):
            continue
        if row.platform in COPY_PLATFORMS:
            session.add(_copy_row(pid, now, OutboxKind.COPY_DELETE, row, empty))
            report.copies[row.platform] = report.copies.get(row.platform, 0) + 1
        else:
            report.copies_left[row.platform] = report.copies_left.get(row.platform, 0) + 1


def _without(member_ids: str | None, addresses: Iterable[str]) -> str | None:
    """`member_ids` without the person's ids; the same string when they aren't among them."""
    if not member_ids:
        return member_ids
    gone = set(addresses)
    kept = [m for m in member_ids.split(",") if m not in gone]
    return ",".join(kept) or None


def _scrub_outbox(
    session: Session, now: datetime, pid: int, report: ErasureReport, traces: Traces
) -> int:
    """Remove their words, name and platform ids from everyone else's outbox rows.

    A row for someone else is never dropped while undelivered (it may be another student's
    urgent alert): its payload is rewritten. A delivered one is rewritten and its copy on the
    platform edited the same way; a finished row with no copy to edit is deleted. Group
    conversations (peer pairings) lose the person's platform id from `member_ids`. Payloads
    are sealed, so SQL cannot search them: each is opened, in batches.
    """
    changed = 0
    doomed: list[int] = []
    last_id = 0
    while True:
        batch = session.exec(
            select(Outbox).where(col(Outbox.id) > last_id).order_by(col(Outbox.id)).limit(500)
        ).all()
        if not batch:
            break
        last_id = int(batch[-1].id or 0)
        for row in batch:
            if row.kind in COPY_KINDS:
                continue
            members = _without(row.member_ids, traces.addresses)
            quoted = any(traces.found_in(s) for s in _payload_strings(row.payload))
            if not quoted and members == row.member_ids:
                continue
            changed += 1
            row.member_ids = members
            if quoted:
                scrubbed = _scrubbed_payload(row.payload, traces)
                if row.status in UNDELIVERED_OUTBOX:
                    row.payload = scrubbed
                elif _delivered_copy(row) and row.platform in COPY_PLATFORMS:
                    row.payload = scrubbed
                    session.add(_copy_row(pid, now, OutboxKind.COPY_EDIT, row, scrubbed))
                    report.copies[row.platform] = report.copies.get(row.platform, 0) + 1
                else:
                    if _delivered_copy(row):
                        left = report.copies_left
                        left[row.platform] = left.get(row.platform, 0) + 1
                    assert row.id is not None
                    doomed.append(row.id)
                    continue
            session.add(row)
    session.flush()
    if doomed:
        _delete(session, Outbox, col(Outbox.id).in_(doomed))
    return changed


def _scrub_details(session: Session, traces: Traces) -> int:
    """Remove their name and email from the plain-text details of alert events and the audit log.

    (A re-escalation records the names it was sent to; an audit line may name a person.)
    A LIKE on the first name or the email finds the candidates; the whole-word match decides.
    """
    if not traces.like:
        return 0
    changed = 0
    for model in (AlertEvent, AuditLog):
        detail = model.detail  # type: ignore[attr-defined]
        rows = session.exec(
            select(model).where(
                or_(*(col(detail).like(p, escape=LIKE_ESCAPE) for p in traces.like))
            )
        ).all()
        for row in rows:
            scrubbed = traces.scrub(row.detail)  # type: ignore[attr-defined]
            if scrubbed != row.detail:  # type: ignore[attr-defined]
                row.detail = scrubbed  # type: ignore[attr-defined]
                session.add(row)
                changed += 1
    return changed


def _deidentify_alerts(session: Session, pid: int, alert_ids: list[int]) -> int:
    """Keep each alert for safety statistics, with nothing that identifies the person."""
    if not alert_ids:
        return 0
    alerts = session.exec(select(Alert).where(col(Alert.id).in_(alert_ids))).all()
    for alert in alerts:
        alert.student_id = None
        alert.excerpt = None
        # What they wrote later and what their mentor noted when resolving it go too.
        alert.latest_excerpt = None
        alert.resolution_note = None
        alert.reason = alert.kind  # e.g. "Mood 2/5 ..." or the safety screen's reasons
        if alert.status == AlertStatus.OPEN:
            alert.status = AlertStatus.ERASED
        alert.next_escalation_at = None  # nobody left to escalate about
        alert.next_follow_up_at = None  # nor to follow up
        session.add(alert)
    session.execute(
        update(AlertEvent)
        .where(col(AlertEvent.alert_id).in_(alert_ids))
        .values(detail="")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(AlertEvent)
        .where(col(AlertEvent.alert_id).in_(alert_ids), col(AlertEvent.person_id) == pid)
        .values(person_id=None)
        .execution_options(synchronize_session=False)
    )
    return len(alerts)


# ---------------------------------------------------------------- delete confirmation


def _token_message(person_id: int, expires: int) -> str:
    return f"mydata.delete:{person_id}:{expires}"


def deletion_token(person_id: int, now: datetime) -> str:
    """A token for the delete button: bound to the person, valid for CONFIRM_MINUTES."""
    expires = int((now + timedelta(minutes=CONFIRM_MINUTES)).timestamp())
    return f"{expires}.{sign(_token_message(person_id, expires))}"


def check_deletion_token(token: str, person_id: int, now: datetime) -> None:
    """Raise unless `token` was made for this person and has not expired."""
    raw_expires, _dot, signature = token.partition(".")
    try:
        expires = int(raw_expires)
    except ValueError:
        expires = 0
    # The signature first: an expiry message for a forged token would say too much.
    if not signature or not verify(_token_message(person_id, expires), signature):
        raise NotAllowed(_("That button isn't yours. Type /mydata delete to start again."))
    if now.timestamp() > expires:
        raise UserError(
            ngettext(
                "That confirmation has expired (it works for {n} minute). "
                "Nothing was deleted. Type /mydata delete to start again.",
                "That confirmation has expired (it works for {n} minutes). "
                "Nothing was deleted. Type /mydata delete to start again.",
                CONFIRM_MINUTES,
            ).format(n=CONFIRM_MINUTES)
        )


# ---------------------------------------------------------------- retention


def purge_expired_text(
    session: Session, settings: CoreSettings, now: datetime, *, tables: Sequence[PersonalData]
) -> int:
    """Remove free text older than `settings.retention_days`; returns how many rows changed.

    The free text is every `free_text` column the features declare in `tables`
    (`Registry.personal_data`), dated by the table's `dated_by`. Nullable text (notes,
    excerpts) is set to NULL, keeping the row and its scores; rows that are only text
    (student messages, mentor notes) are deleted; finished outbox rows (which may quote
    text) are deleted too.
    """
    cutoff = now - timedelta(days=settings.retention_days)
    changed = 0
    for declared in tables:
        if declared.dated_by is None:
            continue
        table = declared.table.__table__  # type: ignore[attr-defined]
        dated_by = table.c[declared.dated_by]
        for column_name in declared.free_text:
            column = table.c[column_name]
            if column.nullable:
                result = session.execute(
                    update(table)
                    .where(dated_by < cutoff, column.is_not(None))
                    .values({column_name: None})
                )
            else:
                result = session.execute(delete(table).where(dated_by < cutoff))
            changed += int(getattr(result, "rowcount", 0) or 0)
    changed += _delete(
        session,
        Outbox,
        col(Outbox.created_at) < cutoff,
        col(Outbox.status).in_(FINISHED_OUTBOX),
    )
    changed += purge_stale_rows(session, settings, now)
    changed += erase_stale_unrostered(session, now, cutoff, tables=tables)
    audit(
        session,
        now,
        None,
        "privacy.purge",
        None,
        detail=f"{changed} row(s) older than {settings.retention_days} days",
    )
    session.expire_all()  # the bulk statements bypassed the identity map
    return changed


def erase_stale_unrostered(
    session: Session, now: datetime, cutoff: datetime, *, tables: Sequence[PersonalData]
) -> int:
    """Erase provisional people (a crisis from someone never rostered) past the retention.

    Such a row holds only what their platform told us and their alert; once it is older than
    the cut-off, no alert about them is unresolved and none was raised or added to since the
    cut-off, it is erased like anyone who asks (the alert is kept, de-identified). Returns
    how many people were erased.
    """
    # Anyone still being helped, or who wrote within the retention period, is kept.
    kept = select(Alert.student_id).where(
        col(Alert.student_id).is_not(None),
        or_(
            col(Alert.status).in_(UNRESOLVED_ALERTS),
            col(Alert.created_at) >= cutoff,
            col(Alert.last_folded_at) >= cutoff,
        ),
    )
    stale = session.exec(
        select(Person).where(
            Person.role == UNROSTERED,
            col(Person.deleted_at).is_(None),
            col(Person.created_at) < cutoff,
            ~col(Person.id).in_(kept),
        )
    ).all()
    for person in stale:
        erase_person(session, person, now, actor_id=None, via="retention", tables=tables)
    return len(stale)


def purge_stale_rows(session: Session, settings: CoreSettings, now: datetime) -> int:
    """The retention of what the text purge above does not cover; returns rows changed.

    * Undelivered outbox rows (pending, or a lease left behind) created and due before the
      retention cut-off: a push nobody could deliver in a year only holds a copy of someone's
      words. Logged as a warning with the count, because each was a message never delivered.
    * Alert reasons and event details (health labels, who was told) older than the cut-off:
      the reason becomes the alert's kind and the details are emptied, as erasure does.
    * `processed_event` rows (platform event ids and Slack request signatures) older than
      PROCESSED_EVENT_DAYS: platforms retry for minutes, replays are refused after five.
    """
    cutoff = now - timedelta(days=settings.retention_days)
    undelivered = _delete(
        session,
        Outbox,
        col(Outbox.status).in_(UNDELIVERED_OUTBOX),
        col(Outbox.created_at) < cutoff,
        col(Outbox.next_attempt_at) < cutoff,
    )
    if undelivered:
        log.warning(
            "retention purged %d outbox message(s) never delivered in %d days",
            undelivered,
            settings.retention_days,
        )
    reasons = session.execute(
        update(Alert)
        .where(col(Alert.created_at) < cutoff, col(Alert.reason) != col(Alert.kind))
        .values(reason=col(Alert.kind))
        .execution_options(synchronize_session=False)
    )
    details = session.execute(
        update(AlertEvent)
        .where(col(AlertEvent.at) < cutoff, col(AlertEvent.detail) != "")
        .values(detail="")
        .execution_options(synchronize_session=False)
    )
    events = _delete(
        session,
        ProcessedEvent,
        col(ProcessedEvent.at) < now - timedelta(days=PROCESSED_EVENT_DAYS),
    )
    return (
        undelivered
        + int(getattr(reasons, "rowcount", 0) or 0)
        + int(getattr(details, "rowcount", 0) or 0)
        + events
    )
