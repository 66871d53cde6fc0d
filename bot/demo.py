"""A small demo programme so a newcomer can chat at once: one mentor, two students, resources."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from bot.people import UNROSTERED
from bot.services.resources import ResourceRow, import_resources
from bot.services.roster import import_roster, parse_roster
from storage.tables import CheckinSchedule, Person

DEMO_ROSTER = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n"
    "admin@example.edu,Avery Admin,admin,Europe/London,,,\n"
    "maya@example.edu,Maya Mentor,mentor,Europe/London,,,Study skills\n"
    "sam@example.edu,Sam Student,student,Europe/London,maya@example.edu,admin@example.edu,"
    "Study skills\n"
    "alex@example.edu,Alex Student,student,America/New_York,maya@example.edu,admin@example.edu,"
    "Study skills\n"
)

DEMO_RESOURCES = (
    ResourceRow(
        "Exam stress: a survival guide",
        "https://example.edu/help/exam-stress",
        "exams,stress,revision",
        "Practical tips for calm revision and exam days.",
    ),
    ResourceRow(
        "Student wellbeing service",
        "https://example.edu/help/wellbeing",
        "wellbeing,low-mood,mental-health,counselling",
        "Free, confidential counselling for students. Book online.",
    ),
    ResourceRow(
        "Study skills workshops",
        "https://example.edu/help/study-skills",
        "study,essays,time-management,revision",
        "Weekly sessions on planning and writing.",
    ),
    ResourceRow(
        "Money and hardship fund",
        "https://example.edu/help/money",
        "money,food,housing,hardship",
        "Emergency grants, food vouchers and budgeting help.",
    ),
    ResourceRow(
        "Sleep well guide",
        "https://example.edu/help/sleep",
        "sleep,tired,wellbeing",
        "Simple habits for better sleep during term.",
    ),
)


def is_empty(session: Session) -> bool:
    """True when nobody is enrolled yet."""
    # A provisional person (a crisis from someone not on the roster) is not enrolled.
    enrolled = select(func.count()).select_from(Person).where(col(Person.role) != UNROSTERED)
    return int(session.exec(enrolled).one()) == 0


def seed_demo(session: Session, now: datetime) -> bool:
    """Seed the demo programme into an empty database; returns whether it did."""
    if not is_empty(session):
        return False
    import_roster(session, parse_roster(DEMO_ROSTER), now)
    import_resources(session, DEMO_RESOURCES)
    session.add(
        CheckinSchedule(
            name="Weekday check-in",
            target="all",
            days="mon-fri",
            local_time="09:00",
            created_at=now,
        )
    )
    return True
