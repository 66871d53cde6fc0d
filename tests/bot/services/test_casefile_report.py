"""The progress report's content, Markdown and PDF (bot/services/casefile*.py).

The PDF is checked as a file (its header, page count) and by the headings its layout put on
the pages; the pages were also rendered with pdftoppm and looked at (see the lead's note).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.errors import UserError
from bot.people import person_by_email
from bot.services.casefile import (
    MeetingStatus,
    MeetingView,
    ProgressReport,
    build_report,
    md,
    mood_chart,
    render_markdown,
    report_period,
)
from bot.services.casefile_pdf import paginate, render_pdf, report_blocks
from storage.db import Database
from storage.tables import Person
from tests.bot.features.casefile_world import GOAL_TITLE, MILESTONE, seed_term

HEADINGS = (
    "Progress report: Sam Student",
    "Check-ins",
    "Mood trend",
    "Goals",
    "Meetings",
    "Agreed actions",
)


def meetings(session: Session, student_id: int, start: datetime, end: datetime):
    """Three meetings in the period: two held with agreed actions, one missed."""
    at = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    return (
        MeetingView(at, MeetingStatus.HELD, "Maya Mentor", agreed_actions=("Plan revision",)),
        MeetingView(at + timedelta(weeks=1), MeetingStatus.MISSED, "Maya Mentor"),
        MeetingView(
            at + timedelta(weeks=2),
            MeetingStatus.HELD,
            "Maya Mentor",
            agreed_actions=("Ask for an extension", "See the *counsellor*"),
        ),
    )


def report_of(
    db: Database, clock: FixedClock, first: date, last: date, source=meetings
) -> ProgressReport:
    with db.session() as session:
        sam = person_by_email(session, "sam@example.edu")
        maya = person_by_email(session, "maya@example.edu")
        assert sam is not None and maya is not None
        return build_report(session, maya, sam, first, last, clock.now(), "Europe/London", source)


@pytest.fixture
def report(demo: Database, clock: FixedClock, core_settings: CoreSettings) -> ProgressReport:
    """Sam's report for the autumn half term, with meetings."""
    seed_term(demo, core_settings, clock.now())
    return report_of(demo, clock, date(2026, 9, 1), date(2026, 11, 23))


def test_report_counts_checkins_meetings_and_agreed_actions(report: ProgressReport) -> None:
    """Held and missed meetings are counted and every agreed action is listed with its day."""
    assert report.checkins.sentence().startswith("Responded to 10 of 12 check-ins (83%)")
    assert (report.held, report.missed) == (2, 1)
    assert [a for _, a in report.agreed_actions] == [
        "Plan revision",
        "Ask for an extension",
        "See the *counsellor*",
    ]
    assert report.mood.per == "week" and report.mood.entries == 12
    [goal] = report.goals
    assert goal.title == GOAL_TITLE and goal.milestones[0].title == MILESTONE


def test_markdown_has_every_section_and_escapes_peoples_words(report: ProgressReport) -> None:
    """The Markdown report has its headings, the chart link and table, and no stray markup."""
    chart = mood_chart(report.name, report.mood, report.checkins, report.period)
    text = render_markdown(report, chart, "sam-mood.png")
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    assert tuple(headings) == HEADINGS
    assert "](sam-mood.png)" in text and "| Week starting | Average mood |" in text
    assert "2 held, 1 missed, 3 in all." in text
    assert "- 16 Nov 2026: See the \\*counsellor\\*" in text
    assert f"  - [x] {md(MILESTONE)}" in text
    assert md("[x](javascript:alert(1))") == "\\[x\\](javascript:alert(1))"


def test_pdf_has_pages_headings_and_text_as_fonts(report: ProgressReport) -> None:
    """The PDF is a PDF with one A4 page here, the expected headings, and embedded fonts."""
    chart = mood_chart(report.name, report.mood, report.checkins, report.period)
    pdf = render_pdf(report, chart.alt_text)
    assert pdf.data.startswith(b"%PDF-")
    assert pdf.pages == 1 == len(re.findall(rb"/Type /Page\b", pdf.data))
    assert pdf.headings == HEADINGS
    assert b"/Subtype /Type3" in pdf.data  # embedded fonts: no font needed on the reader's side
    assert b"/MediaBox [ 0 0 595.44 841.68 ]" in pdf.data  # A4 in points


def test_a_long_report_flows_onto_more_pages_with_headings_kept_with_text(
    demo: Database, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Many meetings push the report onto several pages; no page ends on a bare heading."""
    seed_term(demo, core_settings, clock.now())
    start = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)

    def many(session: Session, student_id: int, a: datetime, b: datetime) -> Sequence[MeetingView]:
        return tuple(
            MeetingView(
                start + timedelta(days=day),
                MeetingStatus.HELD,
                "Maya Mentor",
                agreed_actions=(f"Action number {day}: " + "read a chapter and summarise it " * 4,),
            )
            for day in range(60)
        )

    report = report_of(demo, clock, date(2026, 9, 1), date(2026, 11, 23), many)
    chart = mood_chart(report.name, report.mood, report.checkins, report.period)
    pdf = render_pdf(report, chart.alt_text)
    assert pdf.pages >= 3 and len(re.findall(rb"/Type /Page\b", pdf.data)) == pdf.pages
    for page in paginate(report_blocks(report, chart.alt_text)):
        assert page[-1].kind != "heading"


def test_short_periods_are_charted_per_day(
    demo: Database, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Two weeks are charted per day, with a point for each day."""
    seed_term(demo, core_settings, clock.now())
    report = report_of(demo, clock, date(2026, 11, 10), date(2026, 11, 23))
    assert report.mood.per == "day" and len(report.mood.labels) == 14
    assert report.mood.values[-1] == 5  # Monday 23 Nov, 09:00


def test_reversed_and_overlong_periods_are_refused() -> None:
    """A report can't end before it starts, nor cover more than two years."""
    with pytest.raises(UserError, match="before it starts"):
        report_period(date(2026, 11, 2), date(2026, 11, 1), "UTC")
    with pytest.raises(UserError, match="at most two years"):
        report_period(date(2020, 1, 1), date(2026, 1, 1), "UTC")


def test_the_report_reads_the_days_in_the_students_zone(
    demo: Database, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """A mood at 23:30 New York time counts on that local day, not the next UTC day."""
    with demo.session() as session:
        alex = person_by_email(session, "alex@example.edu")
        assert alex is not None and alex.id is not None and alex.timezone == "America/New_York"
        from bot.services.mood import log_mood

        log_mood(session, alex, 2, None, datetime(2026, 11, 21, 4, 30, tzinfo=UTC))
        maya = person_by_email(session, "maya@example.edu")
        assert isinstance(maya, Person)
        report = build_report(
            session, maya, alex, date(2026, 11, 20), date(2026, 11, 20), clock.now(), "UTC"
        )
    assert report.mood.values == (2,) and report.mood.entries == 1
