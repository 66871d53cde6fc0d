"""The case file on Discord: `/student email:` through discord.py and the loopback Discord.

The chart is an attachment with its alt text as the description (what screen readers say),
the answer is ephemeral, and the report button answers with the PDF attached.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.people import person_by_email
from bot.services.mood import log_mood
from mentorbot_fakes.discord_api import FakeDiscord
from storage.tables import AuditLog
from tests.adapters.discord.conftest import DANA, MORGAN, StartBot, World
from tests.adapters.discord.test_discord_e2e import buttons, slash


def seed_dana(world: World) -> None:
    """A few weeks of Dana's moods."""
    now = world.clock.now()
    with world.db.session() as session:
        dana = person_by_email(session, "dana@example.edu")
        assert dana is not None
        for week, score in enumerate((2, 3, 4, 4)):
            log_mood(session, dana, score, None, now - timedelta(weeks=3 - week, hours=2))


def email_option(email: str) -> list[dict[str, Any]]:
    """The /student command's one option, as Discord sends it."""
    return [{"type": 3, "name": "email", "value": email}]


async def test_mentor_gets_the_chart_as_an_attachment_then_the_pdf(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Morgan's /student shows Dana's case file with the chart attached, then the PDF."""
    seed_dana(world)
    await start_bot()
    inter = await slash(fake, "student", email_option("dana@example.edu"), user_id=MORGAN)
    response = await fake.wait_for_interaction_response(inter)
    assert response.ephemeral
    [chart] = response.files
    assert chart.filename.endswith("-mood.png") and chart.data.startswith(b"\x89PNG")
    original = fake.messages[inter.original_message_id or ""]
    [attached] = original["attachments"]
    assert "weekly average mood" in attached["description"]
    assert "Case file: Dana Student" in str(original["embeds"])
    # The two other sections follow privately.
    await fake.wait_for(lambda: len([m for m in fake.messages_sent if m.get("webhook_id")]) >= 3)
    assert "Progress report (PDF)" in buttons(original)

    pressed = await fake.dispatch_button(
        buttons(original)["Progress report (PDF)"],
        user_id=MORGAN,
        channel_id=original["channel_id"],
        guild_id=fake.default_guild.id if fake.default_guild else None,
        message_id=original["id"],
    )
    await fake.wait_for(
        lambda: any(
            a["filename"].endswith(".pdf")
            for m in fake.messages_sent
            for a in m.get("attachments", [])
        )
    )
    with world.db.session() as session:
        actions = session.exec(select(AuditLog.action)).all()
    assert "casefile.read" in actions and "report.student" in actions
    assert pressed.user_id == MORGAN


async def test_student_and_strangers_to_the_student_are_refused(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Dana can't read a case file; Morgan can't read Sam's (not his): no file either way."""
    seed_dana(world)
    await start_bot()
    for user, email, words in (
        (DANA, "dana@example.edu", "only for mentors"),
        (MORGAN, "sam@example.edu", "I can't find a student 'sam@example.edu'"),
    ):
        inter = await slash(fake, "student", email_option(email), user_id=user)
        response = await fake.wait_for_interaction_response(inter)
        assert response.ephemeral and response.files == []
        assert words in str(response.data)
