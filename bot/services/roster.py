"""Roster import: people, roles, mentors, groups and platform ids from one CSV, all or nothing.

Every check (each line on its own, then the file against the database) runs before anything
is written, and all problems are reported together with their line numbers, so a second run
after fixing them never finds new ones. An import may never leave an active student pointing
at someone who is not an active mentor (issue 13, part 6).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from bot.errors import UserError
from bot.i18n import _, ngettext
from bot.localtime import is_valid_zone
from bot.people import ADMIN, MENTOR, ROLES, STUDENT, person_by_email
from bot.services.settings import (
    ZONE_FROM_STUDENT,
    apply_roster_language_and_country,
    roster_country,
    roster_language,
)
from bot.services.unrostered import is_unrostered, link_to_roster
from storage.tables import (
    Group,
    GroupMember,
    Identity,
    MentorAssignment,
    Person,
    StudentSettings,
)

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
    "active",
    "language",
    "country",
)
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
DISCORD_ID = re.compile(r"^\d{15,21}$")
# The optional `active` column: "no" deactivates a person (they keep their records).
YES = frozenset({"", "yes", "y", "true", "1", "active"})
NO = frozenset({"no", "n", "false", "0", "inactive"})
# Roles a student's mentor or backup mentor may have.
MENTOR_ROLES = (MENTOR, ADMIN)
# How many students a refusal names before "and N more".
NAMED_STUDENTS = 10


@dataclass(frozen=True)
class RosterRow:
    """One roster line; a value that failed validation is None (its problem is reported)."""

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
    active: bool = True
    # A code of bot.i18n.LANGUAGES and an ISO country code; None keeps what is there.
    language: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    added: int
    updated: int


@dataclass
class RosterFile:
    """Every line of a roster CSV, with the problems found in each (by line number)."""

    rows: list[RosterRow] = field(default_factory=list)
    problems: dict[int, list[str]] = field(default_factory=dict)

    def add(self, line: int, problem: str) -> None:
        """Record one problem of a line."""
        self.problems.setdefault(line, []).append(problem)

    def valid_rows(self) -> list[RosterRow]:
        """The rows without problems."""
        return [row for row in self.rows if row.line not in self.problems]

    def raise_if_problems(self) -> None:
        """Refuse the whole file, every problem of every line at once, in line order."""
        if not self.problems:
            return
        lines = [
            (
                _("already in the database: {problems}")
                if line == 0
                else _("line {line}: {problems}")
            ).format(line=line, problems="; ".join(found))
            for line, found in sorted(self.problems.items())
        ]
        raise UserError(
            _("Nothing was imported. Fix these lines and try again:") + "\n" + "\n".join(lines)
        )


def read_roster(raw: str) -> RosterFile:
    """Validate each line of a roster CSV on its own; problems are collected, not raised.

    Only a bad header (nothing to check line by line) or an empty file raises at once.
    """
    reader = csv.DictReader(io.StringIO(raw.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("email", "name", "role") if c not in header]
    if missing:
        raise UserError(
            _("The roster needs a header line with columns: {columns}. Missing: {missing}.").format(
                columns=",".join(COLUMNS), missing=", ".join(missing)
            )
        )
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise UserError(
            _("Unknown roster column(s): {unknown}. Expected: {columns}").format(
                unknown=", ".join(unknown), columns=",".join(COLUMNS)
            )
        )
    found = RosterFile()
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        values = {k.strip(): (v or "").strip() for k, v in record.items() if k is not None}
        if None in record:
            found.add(line, _("more values than columns"))
            continue
        problems: list[str] = []
        email = values.get("email", "").lower()
        if not EMAIL.match(email):
            problems.append(
                _("'{email}' is not an email address").format(email=values.get("email", ""))
            )
        elif email in seen:
            problems.append(
                _("{email} already appears on line {line}").format(email=email, line=seen[email])
            )
        else:
            seen[email] = line
        name = values.get("name", "")
        if not name:
            problems.append(_("name is empty"))
        role = values.get("role", "").lower()
        if role not in ROLES:
            problems.append(
                _("role '{role}' must be student, mentor or admin").format(
                    role=values.get("role", "")
                )
            )
        tz = values.get("timezone") or None
        if tz and not is_valid_zone(tz):
            problems.append(_("unknown time zone '{zone}'").format(zone=tz))
        refs: dict[str, str | None] = {}
        for label in ("mentor_email", "backup_mentor_email"):
            value = (values.get(label) or "").lower() or None
            if value and not EMAIL.match(value):
                problems.append(
                    _("{column} '{value}' is not an email address").format(
                        column=label, value=value
                    )
                )
                value = None  # reported; the reference checks skip it
            refs[label] = value
        mentor, backup = refs["mentor_email"], refs["backup_mentor_email"]
        if mentor and backup and mentor == backup:
            problems.append(_("mentor and backup mentor are the same person"))
        if (mentor or backup) and role in ROLES and role != STUDENT:
            problems.append(_("only students have mentors"))
        if email and email in (mentor, backup):
            problems.append(_("a student can't be their own mentor"))
        slack = values.get("slack_user_id") or None
        if slack and not SLACK_ID.match(slack):
            problems.append(
                _("slack_user_id '{id}' doesn't look like a Slack user id (U…)").format(id=slack)
            )
            slack = None
        discord = values.get("discord_user_id") or None
        if discord and not DISCORD_ID.match(discord):
            problems.append(
                _("discord_user_id '{id}' doesn't look like a Discord user id").format(id=discord)
            )
            discord = None
        active_raw = (values.get("active") or "").lower()
        if active_raw not in YES | NO:
            problems.append(
                _("active '{value}' must be yes or no").format(value=values.get("active"))
            )
        groups = tuple(g.strip() for g in re.split(r"[;|]", values.get("groups", "")) if g.strip())
        language, language_problem = roster_language(values.get("language") or "")
        country, country_problem = roster_country(values.get("country") or "")
        problems += [p for p in (language_problem, country_problem) if p is not None]
        for problem in problems:
            found.add(line, problem)
        found.rows.append(
            RosterRow(
                line,
                email,
                name,
                role,
                tz,
                mentor,
                backup,
                groups,
                slack,
                discord,
                active=active_raw not in NO,
                language=language,
                country=country,
            )
        )
    if not found.rows and not found.problems:
        raise UserError(_("The roster has no people in it."))
    return found


def parse_roster(raw: str) -> list[RosterRow]:
    """Validate a roster CSV line by line; raise UserError listing every bad line."""
    found = read_roster(raw)
    found.raise_if_problems()
    return found.rows


def check_roster(session: Session, found: RosterFile) -> None:
    """Add to `found` every problem the database reveals; nothing is written.

    The import must leave every active student with mentors who are active mentors (or
    admins): the state after the import is worked out from the database and the file
    together, so a role change (a mentor made a student), a deactivation, a reference to a
    student, or to someone on neither, is caught, on the line that causes it. Platform ids
    already held by someone else are reported too. All of it in one pass with the line
    checks, so fixing what is reported never reveals new problems.
    """
    people = [p for p in session.exec(select(Person)).all() if p.deleted_at is None]
    email_of = {p.id: p.email for p in people}
    role = {p.email: p.role for p in people}
    active = {p.email: p.active for p in people}
    rows = [row for row in found.rows if EMAIL.match(row.email)]
    line_of = {row.email: row.line for row in rows}
    for row in rows:
        if row.role in ROLES:
            role[row.email] = row.role
        active[row.email] = row.active
    # (student, kind) -> (mentor, the file line that sets it, or None: kept from the database)
    assigned: dict[tuple[str, str], tuple[str, int | None]] = {}
    for assignment in session.exec(select(MentorAssignment)).all():
        student, mentor = email_of.get(assignment.student_id), email_of.get(assignment.mentor_id)
        if student is not None and mentor is not None:
            assigned[(student, assignment.kind)] = (mentor, None)
    for row in rows:
        for kind, ref in (("primary", row.mentor_email), ("backup", row.backup_mentor_email)):
            if ref is not None:
                assigned[(row.email, kind)] = (ref, row.line)
    stranded: dict[str, list[str]] = {}  # mentor -> students left pointing at them
    for (student, kind), (mentor, line) in sorted(assigned.items()):
        if role.get(student) != STUDENT or not active.get(student, False):
            continue  # only active students need a mentor who can act
        primary = kind == "primary"
        if mentor not in role:
            problem = (
                _("mentor {email} is not on the roster")
                if primary
                else _("backup mentor {email} is not on the roster")
            )
        elif role[mentor] not in MENTOR_ROLES:
            problem = (
                _("mentor {email} is a {role}, not a mentor")
                if primary
                else _("backup mentor {email} is a {role}, not a mentor")
            )
        elif not active[mentor]:
            problem = (
                _("mentor {email} is not active")
                if primary
                else _("backup mentor {email} is not active")
            )
        else:
            continue
        problem = problem.format(email=mentor, role=role.get(mentor))
        if line is not None:
            found.add(line, problem)
        else:
            stranded.setdefault(mentor, []).append(student)
    for mentor, students in sorted(stranded.items()):
        names = ", ".join(students[:NAMED_STUDENTS])
        n = len(students)
        if n > NAMED_STUDENTS:
            more = n - NAMED_STUDENTS
            names = ngettext("{names} and {n} more", "{names} and {n} more", more).format(
                names=names, n=more
            )
        if mentor in line_of:
            what = (
                ngettext(
                    "{mentor} would no longer be an active mentor, but {n} student(s) still "
                    "have them as mentor: {names}. Give those students another mentor in "
                    "this file first",
                    "{mentor} would no longer be an active mentor, but {n} student(s) still "
                    "have them as mentor: {names}. Give those students another mentor in "
                    "this file first",
                    n,
                )
                if role.get(mentor) in MENTOR_ROLES
                else ngettext(
                    "{mentor} would become a {role}, but {n} student(s) still have them as "
                    "mentor: {names}. Give those students another mentor in this file first",
                    "{mentor} would become a {role}, but {n} student(s) still have them as "
                    "mentor: {names}. Give those students another mentor in this file first",
                    n,
                )
            )
            found.add(
                line_of[mentor],
                what.format(mentor=mentor, role=role.get(mentor), n=n, names=names),
            )
        else:
            found.add(
                0,
                ngettext(
                    "{n} student(s) have {mentor}, who is not an active mentor, as "
                    "mentor: {names}. Give them another mentor in this file",
                    "{n} student(s) have {mentor}, who is not an active mentor, as "
                    "mentor: {names}. Give them another mentor in this file",
                    n,
                ).format(n=n, mentor=mentor, names=names),
            )
    for row in rows:
        for platform, uid in (("slack", row.slack_user_id), ("discord", row.discord_user_id)):
            if uid is None:
                continue
            owner = session.exec(
                select(Identity).where(Identity.platform == platform, Identity.user_id == uid)
            ).first()
            if owner is not None:
                holder = session.get(Person, owner.person_id)
                # A provisional person (a crisis from someone not on the roster) is what the
                # import is for: the row takes them over (`link_to_roster`).
                if holder is not None and holder.email != row.email and not is_unrostered(holder):
                    found.add(
                        row.line,
                        _("{platform} id {id} belongs to {email}").format(
                            platform=platform, id=uid, email=holder.email
                        ),
                    )


def import_roster_text(session: Session, raw: str, now: datetime) -> ImportResult:
    """Check a roster CSV completely (lines and database, one pass), then import it all.

    Raises UserError listing every problem with its line number; nothing is written then.
    """
    found = read_roster(raw)
    check_roster(session, found)
    found.raise_if_problems()
    return _apply(session, found.rows, now)


def import_roster(session: Session, rows: list[RosterRow], now: datetime) -> ImportResult:
    """Apply validated rows in the caller's transaction, after the database checks."""
    found = RosterFile(rows=list(rows))
    check_roster(session, found)
    found.raise_if_problems()
    return _apply(session, rows, now)


def _zone_chosen_by_student(session: Session, person: Person) -> bool:
    """True when the person set their own time zone with `/settings zone`."""
    if person.id is None:
        return False
    chosen = session.get(StudentSettings, person.id)
    return chosen is not None and chosen.zone_source == ZONE_FROM_STUDENT


def _apply(session: Session, rows: list[RosterRow], now: datetime) -> ImportResult:
    """Write checked rows: people, mentor assignments, platform ids, groups."""
    added = updated = 0
    people: dict[str, Person] = {}
    for row in rows:
        # Someone not on the roster who wrote a crisis, now named by this row's platform id.
        ids = {"slack": row.slack_user_id, "discord": row.discord_user_id}
        link_to_roster(session, row.email, {p: u for p, u in ids.items() if u}, now)
    for row in rows:
        person = person_by_email(session, row.email)
        if person is None:
            person = Person(
                email=row.email,
                name=row.name,
                role=row.role,
                timezone=row.timezone,
                active=row.active,
                created_at=now,
            )
            added += 1
        else:
            person.name, person.role = row.name, row.role
            # A zone the student chose with `/settings zone` outranks the roster's: they know
            # where they are this term (an exchange, a trip home), the roster was typed once.
            if not _zone_chosen_by_student(session, person):
                person.timezone = row.timezone or person.timezone
            person.active = row.active
            updated += 1
        apply_roster_language_and_country(session, person, row.language, row.country)
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
