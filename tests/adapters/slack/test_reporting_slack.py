"""End to end on Slack: the weekly digest with chart files, and `/mentor report`.

The real bolt app and AsyncWebClient against the loopback Slack; the digest comes from
`run_due_work` (the scheduler's tick) through the outbox and the real SlackMessenger, whose
files_upload_v2 carries each chart's alt text. MIN_GROUP_SIZE is 2 here: the demo programme
has two students.
"""

from __future__ import annotations

import pytest

from bot.config import CoreSettings
from tests.adapters.slack.conftest import ADMIN, MENTOR, STUDENT, Harness, all_text
from tests.bot.services.reporting.world import SECRET_NOTE, demo_students_log
from tests.tick import run_due_work

STAFF = "C0STAFF001"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def core_settings() -> CoreSettings:
    """A staff channel on Slack, and groups of two may be reported (the demo has two students)."""
    return CoreSettings(staff_channel=f"slack:{STAFF}", min_group_size=2, digest_day="mon")


async def test_weekly_digest_reaches_the_staff_channel_and_the_mentor_with_charts(
    slack: Harness, clock, core_settings: CoreSettings
) -> None:
    """Monday 10:00 (after 08:00): staff get figures and 4 charts, Maya hers; once only."""
    slack.fake.add_channel(STAFF, name="staff", members=[ADMIN])
    demo_students_log(slack.db, clock.now())
    report = run_due_work(slack.db, core_settings, clock.now())
    # Staff, Maya, and Avery (an admin who is Sam's and Alex's backup mentor).
    assert report.lines() == ["weekly digests queued: 3"]
    run_due_work(slack.db, core_settings, clock.now())  # a second tick queues nothing
    await slack.delivery.deliver_once(["slack"])
    await slack.delivery.deliver_once(["slack"])

    [summary, *charts] = slack.fake.messages_in(STAFF)
    text = all_text(summary.blocks)
    assert "Weekly digest: All students" in text and "Check-in response rate" in text
    staff_files = [f for f in slack.fake.files.values() if f.channel_id == STAFF]
    # Each chart: its words as a message, then the file shared into the channel.
    assert len(staff_files) == 4 and len([m for m in charts if m.files]) == 4
    for upload in staff_files:
        assert upload.content is not None and upload.content.startswith(PNG)
        assert upload.alt_txt and len(upload.alt_txt) > 20  # the chart in words
    assert any("Average mood" in (f.alt_txt or "") for f in staff_files)
    mentor_files = [f for f in slack.fake.files.values() if f.channel_id != STAFF]
    assert len(mentor_files) == 2
    assert all(f.filename.startswith("mood-trend") for f in mentor_files)
    everything = " ".join(
        all_text(m.blocks) for ms in slack.fake.messages.values() for m in ms.values()
    )
    assert SECRET_NOTE not in everything


async def test_report_command_answers_staff_and_refuses_bad_input(slack: Harness, clock) -> None:
    """Avery gets the report and charts; reversed dates, another's students, students: refused."""
    demo_students_log(slack.db, clock.now())
    _, name = await slack.command("report", user=ADMIN)
    await slack.settle()
    posts = slack.fake.response_posts_to(name)
    assert posts and "Programme report: All students" in str(posts[0].body)
    uploads = [f for f in slack.fake.files.values() if f.content and f.content.startswith(PNG)]
    assert len(uploads) == 4 and all(f.alt_txt for f in uploads)

    _, name = await slack.command("report 2026-11-30 2026-11-01", user=ADMIN)
    await slack.settle()
    [refusal] = slack.fake.response_posts_to(name)
    assert "before it starts" in str(refusal.body)

    _, name = await slack.command("report mentor admin@example.edu", user=MENTOR)
    await slack.settle()
    [refusal] = slack.fake.response_posts_to(name)
    assert "only see reports about the students you mentor" in str(refusal.body)

    _, name = await slack.command("report", user=STUDENT)
    await slack.settle()
    [refusal] = slack.fake.response_posts_to(name)
    assert "only for mentors and programme staff" in str(refusal.body)
