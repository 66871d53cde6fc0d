"""Every student in their own language and country, on Discord (see ../test_e2e_languages.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.people import person_by_email
from bot.services.resources import import_resources
from mentorbot_fakes.discord_api import DispatchedInteraction, FakeDiscord
from tests.adapters.discord.conftest import DANA, StartBot, World
from tests.i18n.test_e2e_languages import (
    CASES,
    CRISIS,
    IDS,
    RESOURCE_OF,
    RESOURCES,
    Case,
    card_texts,
    mood_line,
    pushes_to,
    set_people,
)

# ---------------------------------------------------------------- Discord

LOCALES = {"es": "es-ES", "ar": "ar", "zh_Hans": "zh-CN"}


async def _discord_answers(fake: FakeDiscord, interaction: DispatchedInteraction) -> list[Any]:
    first = await fake.wait_for_interaction_response(interaction)
    followup = rf"^/webhooks/\d+/{interaction.token}$"
    if first.type in (5, 6):
        # Deferred: the answer is a follow-up, which a loaded machine may take a while to send
        # (a fixed 0.2 s wait failed once in CI on PostgreSQL).
        await fake.wait_for_call("POST", followup, timeout=15)
    await asyncio.sleep(0.2)  # any further follow-ups
    followups = fake.calls_matching("POST", followup)
    return [first.data, *(call.json for call in followups)]


async def _discord_slash(fake: FakeDiscord, name: str, options: Any) -> DispatchedInteraction:
    assert fake.default_guild is not None
    guild = fake.default_guild.id
    return await fake.dispatch_slash_command(
        name, options, user_id=DANA, guild_id=guild, command_guild_id=guild
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_discord_locale_mood_and_crisis_in_the_students_language(
    fake: FakeDiscord, world: World, start_bot: StartBot, case: Case
) -> None:
    """On Discord the client's locale alone sets the language; the card has their lines."""
    fake.user_locales[DANA] = LOCALES[case.language]
    with world.db.session() as session:
        import_resources(session, RESOURCES)
        dana = person_by_email(session, "dana@example.edu")
        assert dana is not None
        dana.country = case.country
        session.add(dana)
    await start_bot()
    bodies = await _discord_answers(fake, await _discord_slash(fake, "mood", {"score": 2}))
    text = json.dumps(bodies, ensure_ascii=False)
    assert mood_line(case.language, 2) in text
    assert text.index(RESOURCE_OF[case.language]) < text.index("Feeling low")
    with world.db.session() as session:
        dana = person_by_email(session, "dana@example.edu")
        assert dana is not None and dana.platform_language == case.language
    bodies = await _discord_answers(
        fake, await _discord_slash(fake, "mood", {"score": 1, "note": CRISIS})
    )
    text = json.dumps(bodies, ensure_ascii=False)
    title, _text = card_texts(world.db, "dana@example.edu", case.language)
    assert title in text and case.first_line in text


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_discord_goal_and_mentor_alert_are_translated(
    fake: FakeDiscord, world: World, start_bot: StartBot, case: Case
) -> None:
    """On Discord: the goal reply, and Morgan's alert in Morgan's own language."""
    fake.user_locales[DANA] = LOCALES[case.language]
    set_people(world.db, "dana@example.edu", "morgan@example.edu", case)
    await start_bot()
    submit = await fake.dispatch_modal_submit(
        "mb:form:goal.add",
        {"title": "Finish the essay", "due": ""},
        user_id=DANA,
        guild_id=fake.default_guild.id if fake.default_guild else None,
    )
    assert "New goal" not in json.dumps(await _discord_answers(fake, submit), ensure_ascii=False)
    await _discord_answers(fake, await _discord_slash(fake, "mood", {"score": 1, "note": CRISIS}))
    alerts = [m for m in pushes_to(world.db, "morgan@example.edu") if m.urgent]
    assert alerts and all(m.language == case.mentor_language for m in alerts)
