"""Cohort mood: no figure for fewer than 5 students, in the helper and in /cohort."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.core import MentorBot
from bot.services import mood as mood_service
from bot.services.cohort import MIN_STUDENTS, cohort_mood_summary
from bot.services.roster import import_roster, parse_roster
from storage.tables import AuditLog, Group, GroupMember, Person
from tests.conftest import Chat, text_of


def enrol_group(core: MentorBot, group: str, scores: list[int], prefix: str = "s") -> list[str]:
    """Students in `group` (with Maya as mentor); student i logs mood scores[i] now."""
    emails = [f"{prefix}{i}@example.edu" for i in range(len(scores))]
    rows = "".join(
        f"{email},Student {prefix}{i},student,UTC,maya@example.edu,,{group}\n"
        for i, email in enumerate(emails)
    )
    now = core.clock.now()
    with core.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n" + rows
            ),
            now,
        )
        for email, score in zip(emails, scores, strict=True):
            person = session.exec(select(Person).where(Person.email == email)).one()
            mood_service.log_mood(session, person, score, None, now - timedelta(hours=1))
    return emails


def group_id(core: MentorBot, name: str) -> int:
    with core.db.session() as session:
        group = session.exec(select(Group).where(Group.name == name)).one()
        assert group.id is not None
        return group.id


def summary(core: MentorBot, name: str):
    with core.db.session() as session:
        return cohort_mood_summary(
            session, group_id(core, name), core.clock.now() - timedelta(days=14)
        )


def test_four_students_give_no_figure(core: MentorBot) -> None:
    """With 4 students reporting, the average is withheld."""
    enrol_group(core, "Four", [1, 2, 4, 5])
    result = summary(core, "Four")
    assert MIN_STUDENTS == 5
    assert result.students == 4 and result.average is None and result.suppressed


def test_five_students_give_the_average_of_each_students_average(core: MentorBot) -> None:
    """With 5 students the figure is shown: each student's own mean counts once."""
    enrol_group(core, "Five", [1, 2, 3, 4, 5])
    with core.db.session() as session:
        # s0 logs three more 5s: the mean of means is unchanged by how often one logs.
        person = session.exec(select(Person).where(Person.email == "s0@example.edu")).one()
        for _ in range(3):
            mood_service.log_mood(session, person, 5, None, core.clock.now())
    result = summary(core, "Five")
    assert result.students == 5 and not result.suppressed
    # s0's mean is (1+5+5+5)/4 = 4; the others 2,3,4,5 -> (4+2+3+4+5)/5 = 3.6
    assert result.average == 3.6


def test_only_students_who_logged_in_the_window_count(core: MentorBot, clock) -> None:
    """Five students in the group, but one logged 15 days ago: suppressed."""
    emails = enrol_group(core, "Window", [3, 3, 3, 3, 3])
    with core.db.session() as session:
        person = session.exec(select(Person).where(Person.email == emails[0])).one()
        from storage.tables import MoodEntry

        for entry in session.exec(select(MoodEntry).where(MoodEntry.person_id == person.id)):
            entry.recorded_at = clock.now() - timedelta(days=15)
            session.add(entry)
    result = summary(core, "Window")
    assert result.students == 5 and result.average is None


def test_inactive_students_and_mentors_are_not_counted(core: MentorBot) -> None:
    """A deactivated student's moods no longer make up the five; group mentors never count."""
    emails = enrol_group(core, "Leavers", [2, 2, 2, 2, 2])
    with core.db.session() as session:
        person = session.exec(select(Person).where(Person.email == emails[0])).one()
        person.active = False
        session.add(person)
    result = summary(core, "Leavers")
    assert result.students == 4 and result.average is None


def test_cohort_command_hides_small_groups_and_shows_large_ones(core: MentorBot) -> None:
    """/cohort lists each group: a figure for 5, 'fewer than 5 students' for 4; audited."""
    enrol_group(core, "Four", [1, 1, 1, 1], prefix="f")
    enrol_group(core, "Five", [4, 4, 4, 4, 4], prefix="v")
    admin = Chat(core, "admin@example.edu")
    text = text_of(admin.send("/cohort"))
    assert "Five: 5 student(s); average mood 4.0/5" in text
    assert "Four: 4 student(s); fewer than 5 students" in text
    assert "All students" in text  # 9 reporting students overall
    assert "1.0" not in text
    with core.db.session() as session:
        assert session.exec(select(AuditLog).where(AuditLog.action == "view.cohort")).all()


def test_cohort_of_four_named_group_shows_no_number(core: MentorBot) -> None:
    """/cohort GROUP for a group of 4 shows no average at all."""
    enrol_group(core, "Tiny team", [5, 5, 5, 5])
    text = text_of(Chat(core, "admin@example.edu").send("/cohort tiny TEAM"))
    assert "fewer than 5 students" in text and "5.0" not in text and "average mood" not in text


def test_mentors_see_only_their_own_groups(core: MentorBot) -> None:
    """Maya sees her groups; a group she is not in is refused by name and left out of the list."""
    enrol_group(core, "Hers", [3, 3, 3, 3, 3], prefix="h")
    hers = group_id(core, "Hers")
    now = core.clock.now()
    with core.db.session() as session:
        maya = session.exec(select(Person).where(Person.email == "maya@example.edu")).one()
        assert maya.id is not None
        session.add(GroupMember(group_id=hers, person_id=maya.id, role="mentor"))
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n"
                "olly@example.edu,Olly Other,mentor,UTC,,,Theirs\n"
            ),
            now,
        )
    chat = Chat(core, "maya@example.edu")
    listing = text_of(chat.send("/cohort"))
    assert "Hers: 5 student(s); average mood 3.0/5" in listing
    assert "Theirs" not in listing and "All students" not in listing
    reply = chat.send("/cohort Theirs")
    assert "only see the groups you belong to" in text_of(reply)


def test_students_cannot_see_cohorts(sam: Chat) -> None:
    """/cohort is for staff only."""
    assert sam.send("/cohort").error is not None
