"""A term of Sam's records for the case file tests: moods, check-ins, goals, a note, an alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import CoreSettings
from bot.people import person_by_email
from bot.services import goals as goal_service
from bot.services.alert_lifecycle import acknowledge_alert, resolve_alert
from bot.services.alerts import raise_alert
from bot.services.roster import import_roster, parse_roster
from storage.db import Database
from storage.enums import CheckinStatus
from storage.tables import Checkin, MentorNote, MoodEntry

NOTE_TEXT = "Talked about exam stress; family is supportive"
GOAL_TITLE = "Finish the history essay"
MILESTONE = "Write the outline"
RESOLUTION = "Called Sam; feeling better after the weekend"
# Moods per week over the term, oldest first: a dip in the middle, then recovery.
WEEKLY_MOODS = (4, 4, 3, 3, 2, 2, 2, 3, 3, 4, 4, 5)


@dataclass(frozen=True)
class TermWorld:
    """Ids the case file tests point at."""

    sam_id: int
    goal_id: int
    olly_email: str = "olly@example.edu"


def seed_term(db: Database, settings: CoreSettings, now: datetime) -> TermWorld:
    """Sam's term: a mood a week and check-ins (8 answered, 2 skipped, 2 missed), and more."""
    with db.session() as session:
        import_roster(
            session, parse_roster("email,name,role\nolly@example.edu,Olly Other,mentor\n"), now
        )
        sam = person_by_email(session, "sam@example.edu")
        maya = person_by_email(session, "maya@example.edu")
        assert sam is not None and sam.id is not None and maya is not None and maya.id is not None
        statuses = [CheckinStatus.ANSWERED] * 8 + [CheckinStatus.SKIPPED] * 2
        statuses += [CheckinStatus.MISSED] * 2
        for week, score in enumerate(WEEKLY_MOODS):
            at = now - timedelta(weeks=len(WEEKLY_MOODS) - 1 - week, hours=1)
            checkin = Checkin(
                person_id=sam.id,
                occurrence_key=f"term:{week}",
                status=statuses[week],
                mood=score if statuses[week] == CheckinStatus.ANSWERED else None,
                opened_at=at - timedelta(minutes=5),
            )
            session.add(checkin)
            session.add(MoodEntry(person_id=sam.id, score=score, recorded_at=at))
        goal = goal_service.add_goal(session, sam, GOAL_TITLE, None, now, now.date())
        assert goal.id is not None
        goal_service.add_milestone(session, sam, str(goal.id), MILESTONE)
        goal_service.add_milestone(session, sam, str(goal.id), "Draft the first half")
        goal_service.milestone_done(session, sam, str(goal.id), "1", now)
        session.add(
            MentorNote(
                student_id=sam.id,
                author_id=maya.id,
                text=NOTE_TEXT,
                created_at=now - timedelta(days=3),
            )
        )
        alert = raise_alert(
            session, settings, now - timedelta(days=20), sam, "low_mood", "Mood 2 three times"
        )
        assert alert is not None and alert.id is not None
        acknowledge_alert(session, settings, now - timedelta(days=19), maya, str(alert.id))
        resolve_alert(
            session, settings, now - timedelta(days=18), maya, str(alert.id), "spoke", RESOLUTION
        )
        return TermWorld(sam_id=sam.id, goal_id=goal.id)
