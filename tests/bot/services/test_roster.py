"""Roster import: validation with line numbers, all-or-nothing, upserts."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.errors import UserError
from bot.services.roster import import_roster, parse_roster
from storage.tables import Group, GroupMember, Identity, MentorAssignment, Person

HEADER = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
    "discord_user_id\n"
)
GOOD = HEADER + (
    "m@uni.edu,Mo Mentor,mentor,Europe/Berlin,,,Year 1,U0MENTOR,\n"
    "b@uni.edu,Bea Backup,mentor,,,,,,\n"
    "s@uni.edu,Sol Student,student,Pacific/Auckland,m@uni.edu,b@uni.edu,Year 1;Coding,U0SOL,"
    "123456789012345678\n"
)


def test_import_creates_people_mentors_groups_and_identities(db, clock) -> None:
    """A good roster creates every person, assignment, group membership and identity."""
    with db.session() as session:
        result = import_roster(session, parse_roster(GOOD), clock.now())
    assert (result.added, result.updated) == (3, 0)
    with db.session() as session:
        assert len(session.exec(select(Person)).all()) == 3
        kinds = sorted(a.kind for a in session.exec(select(MentorAssignment)))
        assert kinds == ["backup", "primary"]
        assert sorted(g.name for g in session.exec(select(Group))) == ["Coding", "Year 1"]
        assert len(session.exec(select(GroupMember)).all()) == 3
        assert sorted(i.platform for i in session.exec(select(Identity))) == [
            "discord",
            "slack",
            "slack",
        ]


def test_reimport_updates_instead_of_duplicating(db, clock) -> None:
    """Importing the same roster twice updates the people."""
    for _ in range(2):
        with db.session() as session:
            result = import_roster(session, parse_roster(GOOD), clock.now())
    assert (result.added, result.updated) == (0, 3)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("bad-email,X,student,,,,,,", "line 2: 'bad-email' is not an email"),
        ("x@uni.edu,X,wizard,,,,,,", "line 2: role 'wizard'"),
        ("x@uni.edu,X,student,Mars/Olympus,,,,,", "line 2: unknown time zone"),
        ("x@uni.edu,,student,,,,,,", "line 2: name is empty"),
        ("x@uni.edu,X,student,,,,,notslack,", "slack_user_id"),
        ("x@uni.edu,X,student,,,,,,abc", "discord_user_id"),
        ("x@uni.edu,X,student,,,,,,,extra", "more values than columns"),
    ],
)
def test_bad_rows_are_reported_with_line_numbers(row: str, expected: str) -> None:
    """Each malformed row is named by its line number."""
    with pytest.raises(UserError, match=expected):
        parse_roster(HEADER + row + "\n")


def test_unknown_mentor_rejects_the_whole_file(db, clock) -> None:
    """A reference to a mentor not on the roster writes nothing at all."""
    raw = HEADER + "ok@uni.edu,Ok,student,,,,,,\ns@uni.edu,S,student,,ghost@uni.edu,,,,\n"
    with db.session() as session, pytest.raises(UserError, match=r"line 3: mentor ghost@uni\.edu"):
        import_roster(session, parse_roster(raw), clock.now())
    with db.session() as session:
        assert session.exec(select(Person)).all() == []


def test_missing_header_is_explained() -> None:
    """A CSV without the required columns says which are missing."""
    with pytest.raises(UserError, match="Missing: role"):
        parse_roster("email,name\na@b.edu,A\n")


def test_a_student_stranded_in_the_database_is_reported_until_fixed(db, clock) -> None:
    """A mentor made inactive outside the roster strands students: imports say so and whom."""
    with db.session() as session:
        import_roster(session, parse_roster(GOOD), clock.now())
    with db.session() as session:
        mentor = session.exec(select(Person).where(Person.email == "m@uni.edu")).one()
        mentor.active = False
        session.add(mentor)
    unrelated = HEADER + "new@uni.edu,New Mentor,mentor,,,,,,\n"
    with db.session() as session, pytest.raises(UserError) as refused:
        import_roster(session, parse_roster(unrelated), clock.now())
    assert "already in the database: 1 student(s) have m@uni.edu" in refused.value.message
    assert "s@uni.edu" in refused.value.message
    fixed = unrelated + "s@uni.edu,Sol Student,student,,new@uni.edu,b@uni.edu,,,\n"
    with db.session() as session:
        import_roster(session, parse_roster(fixed), clock.now())
