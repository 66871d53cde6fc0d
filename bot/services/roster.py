"""Roster import: people, roles, mentors, groups and platform ids from one CSV, all or nothing."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.errors import UserError
from bot.localtime import is_valid_zone
from bot.people import ROLES, person_by_email
from storage.tables import Group, GroupMember, Identity, MentorAssignment, Person

COLUMNS = (
    "email",
    "name",
    "role",
    "timezone",
    "mentor_email",
    "backup_mentor_email",
    "groups",
    "slack_user_id",
    "discord_user_id",
)
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
DISCORD_ID = re.compile(r"^\d{15,21}$")


@dataclass(frozen=True)
class RosterRow:
    """One validated roster line."""

    line: int
    email: str
    name: str
    role: str
    timezone: str | None
    mentor_email: str | None
    backup_mentor_email: str | None
    groups: tuple[str, ...]
    slack_user_id: str | None
    discord_user_id: str | None


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    added: int
    updated: int


def parse_roster(raw: str) -> list[RosterRow]:
    """Validate a roster CSV; raise UserError listing every bad line (nothing is written)."""
    reader = csv.DictReader(io.StringIO(raw.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("email", "name", "role") if c not in header]
    if missing:
        raise UserError(
            "The roster needs a header line with columns: "
            + ",".join(COLUMNS)
            + f". Missing: {', '.join(missing)}."
        )
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise UserError(
            f"Unknown roster column(s): {', '.join(unknown)}. Expected: {','.join(COLUMNS)}"
        )
    rows: list[RosterRow] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        values = {k.strip(): (v or "").strip() for k, v in record.items() if k is not None}
        if None in record:
            errors.append(f"line {line}: more values than columns")
            continue
        problems: list[str] = []
        email = values.get("email", "").lower()
        if not EMAIL.match(email):
            problems.append(f"'{values.get('email', '')}' is not an email address")
        elif email in seen:
            problems.append(f"{email} already appears on line {seen[email]}")
        else:
            seen[email] = line
        name = values.get("name", "")
        if not name:
            problems.append("name is empty")
        role = values.get("role", "").lower()
        if role not in ROLES:
            problems.append(f"role '{values.get('role', '')}' must be student, mentor or admin")
        tz = values.get("timezone") or None
        if tz and not is_valid_zone(tz):
            problems.append(f"unknown time zone '{tz}'")
        mentor = (values.get("mentor_email") or "").lower() or None
        backup = (values.get("backup_mentor_email") or "").lower() or None
        for label, value in (("mentor_email", mentor), ("backup_mentor_email", backup)):
            if value and not EMAIL.match(value):
                problems.append(f"{label} '{value}' is not an email address")
        if mentor and backup and mentor == backup:
            problems.append("mentor and backup mentor are the same person")
        if (mentor or backup) and role != "student":
            problems.append("only students have mentors")
        slack = values.get("slack_user_id") or None
        if slack and not SLACK_ID.match(slack):
            problems.append(f"slack_user_id '{slack}' doesn't look like a Slack user id (U…)")
        discord = values.get("discord_user_id") or None
        if discord and not DISCORD_ID.match(discord):
            problems.append(f"discord_user_id '{discord}' doesn't look like a Discord user id")
        groups = tuple(g.strip() for g in re.split(r"[;|]", values.get("groups", "")) if g.strip())
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
            continue
        rows.append(RosterRow(line, email, name, role, tz, mentor, backup, groups, slack, discord))
    if not rows and not errors:
        raise UserError("The roster has no people in it.")
    if errors:
        raise UserError(
            "Nothing was imported. Fix these lines and try again:\n" + "\n".join(errors)
        )
    return rows


def import_roster(session: Session, rows: list[RosterRow], now: datetime) -> ImportResult:
    """Apply validated rows in the caller's transaction; mentor references are checked too."""
    in_file = {row.email: row for row in rows}
    errors: list[str] = []
    for row in rows:
        for label, ref in (
            ("mentor", row.mentor_email),
            ("backup mentor", row.backup_mentor_email),
        ):
            if ref is None:
                continue
            target_role = in_file[ref].role if ref in in_file else None
            if target_role is None:
                existing = person_by_email(session, ref)
                target_role = existing.role if existing else None
            if target_role is None:
                errors.append(f"line {row.line}: {label} {ref} is not on the roster")
            elif target_role not in ("mentor", "admin"):
                errors.append(f"line {row.line}: {label} {ref} is a {target_role}, not a mentor")
    for row in rows:
        for platform, uid in (("slack", row.slack_user_id), ("discord", row.discord_user_id)):
            if uid is None:
                continue
            owner = session.exec(
                select(Identity).where(Identity.platform == platform, Identity.user_id == uid)
            ).first()
            if owner is not None:
                holder = session.get(Person, owner.person_id)
                if holder is not None and holder.email != row.email:
                    errors.append(f"line {row.line}: {platform} id {uid} belongs to {holder.email}")
    if errors:
        raise UserError(
            "Nothing was imported. Fix these lines and try again:\n" + "\n".join(errors)
        )

    added = updated = 0
    people: dict[str, Person] = {}
    for row in rows:
        person = person_by_email(session, row.email)
        if person is None:
            person = Person(
                email=row.email, name=row.name, role=row.role, timezone=row.timezone, created_at=now
            )
            added += 1
        else:
            person.name, person.role = row.name, row.role
            person.timezone = row.timezone or person.timezone
            person.active = True
            updated += 1
        session.add(person)
        people[row.email] = person
    session.flush()
    groups: dict[str, Group] = {}
    for row in rows:
        person = people[row.email]
        assert person.id is not None
        for kind, ref in (("primary", row.mentor_email), ("backup", row.backup_mentor_email)):
            if ref is None:
                continue
            mentor = people.get(ref) or person_by_email(session, ref)
            assert mentor is not None and mentor.id is not None
            assignment = session.exec(
                select(MentorAssignment).where(
                    MentorAssignment.student_id == person.id, MentorAssignment.kind == kind
                )
            ).first()
            if assignment is None:
                session.add(MentorAssignment(student_id=person.id, mentor_id=mentor.id, kind=kind))
            else:
                assignment.mentor_id = mentor.id
                session.add(assignment)
        for platform, uid in (("slack", row.slack_user_id), ("discord", row.discord_user_id)):
            if uid is None:
                continue
            identity = session.exec(
                select(Identity).where(
                    Identity.person_id == person.id, Identity.platform == platform
                )
            ).first()
            if identity is None:
                session.add(Identity(person_id=person.id, platform=platform, user_id=uid))
            elif identity.user_id != uid:
                identity.user_id, identity.dm_channel_id = uid, None
                session.add(identity)
        for name in row.groups:
            group = (
                groups.get(name) or session.exec(select(Group).where(Group.name == name)).first()
            )
            if group is None:
                group = Group(name=name, created_at=now)
                session.add(group)
                session.flush()
            groups[name] = group
            assert group.id is not None
            member = session.exec(
                select(GroupMember).where(
                    GroupMember.group_id == group.id, GroupMember.person_id == person.id
                )
            ).first()
            if member is None:
                session.add(
                    GroupMember(
                        group_id=group.id,
                        person_id=person.id,
                        role="mentor" if person.role in ("mentor", "admin") else "member",
                    )
                )
    session.flush()
    return ImportResult(added=added, updated=updated)
