"""The case file on Slack: `/mentor student EMAIL` through bolt, the Web API and uploads.

The chart goes up with files_upload_v2 (alt text included) into the mentor's DM, the three
sections answer privately on the response_url, and the report button uploads the PDF.
"""

from __future__ import annotations

from sqlmodel import select

from bot.clock import FixedClock
from bot.config import CoreSettings
from storage.tables import AuditLog
from tests.adapters.slack.conftest import MENTOR, STUDENT, Harness, all_text
from tests.bot.features.casefile_world import NOTE_TEXT, seed_term


async def test_mentor_gets_the_case_file_with_the_chart_uploaded(
    slack: Harness, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Maya's /mentor student: chart PNG uploaded with alt text, sections answered privately."""
    seed_term(slack.db, core_settings, clock.now())
    _, name = await slack.command("student sam@example.edu", user=MENTOR)
    await slack.settle()
    [chart] = [f for f in slack.fake.files.values() if f.completed]
    assert chart.filename.endswith("-mood.png") and (chart.content or b"").startswith(b"\x89PNG")
    assert chart.alt_txt is not None and "weekly average mood" in chart.alt_txt
    assert chart.channel_id == slack.fake.dm_channel_id(MENTOR)
    answers = slack.fake.response_posts_to(name)
    assert len(answers) == 3
    shown = "\n".join(all_text(a.body["blocks"]) for a in answers if a.body is not None)
    assert "Case file: Sam Student" in shown and "Responded to 10 of 12" in shown
    assert NOTE_TEXT in shown and "sent as a file" in shown
    assert all(a.body is not None and a.body["response_type"] == "ephemeral" for a in answers)

    first = answers[0].body
    assert first is not None
    _, report_name = await slack.press_ephemeral(first["blocks"], "Progress report", user=MENTOR)
    await slack.settle()
    pdf = [f for f in slack.fake.files.values() if f.completed and f.filename.endswith(".pdf")]
    assert len(pdf) == 1 and (pdf[0].content or b"").startswith(b"%PDF")
    assert pdf[0].channel_id == slack.fake.dm_channel_id(MENTOR)
    [said] = slack.fake.response_posts_to(report_name)
    assert said.body is not None and "Progress report for Sam Student" in str(said.body)
    with slack.db.session() as session:
        actions = session.exec(select(AuditLog.action)).all()
    assert "casefile.read" in actions and "report.student" in actions


async def test_student_asking_for_a_case_file_is_refused_without_upload(
    slack: Harness, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Sam's /mentor student gets the staff-only answer; nothing is uploaded."""
    seed_term(slack.db, core_settings, clock.now())
    _, name = await slack.command("student sam@example.edu", user=STUDENT)
    await slack.settle()
    [answer] = slack.fake.response_posts_to(name)
    assert answer.body is not None and "only for mentors" in answer.body["text"]
    assert NOTE_TEXT not in str(answer.body)
    assert slack.fake.files == {}
