"""Help, usage and argument refusals in the actor's language; registration keeps the English."""

from __future__ import annotations

from typing import cast

import pytest

from bot.errors import NotAllowed, UserError
from bot.features import (
    alerts,
    caseload,
    checkins,
    goals,
    groups,
    help,
    home,
    mood,
    mydata,
    pairing,
    pause,
    people,
    prompts,
    schedules,
    workshops,
)
from bot.i18n import speaking
from bot.i18n.catalogs import extract
from bot.people import MENTOR, STUDENT
from bot.registry import Context, parse_args
from tests.tick import REGISTRY

# The features whose words this area marks (settings, resources, meetings, case file and
# reporting are marked with their services).
MARKED = (
    alerts,
    caseload,
    checkins,
    goals,
    groups,
    help,
    home,
    mood,
    mydata,
    pairing,
    pause,
    people,
    prompts,
    schedules,
    workshops,
)


def test_help_shows_translated_summaries_and_untouched_usage() -> None:
    """/help in Spanish: every summary of these features translated, usage lines as typed."""
    english = {row.usage: row.summary for row in REGISTRY.help_rows(STUDENT)}
    with speaking("es"):
        rows = REGISTRY.help_rows(STUDENT)
    assert {row.usage for row in rows} == set(english)
    ours = {c.usage for m in MARKED for c in m.FEATURE.commands}
    for row in rows:
        if row.usage in ours:
            assert row.summary != english[row.usage], row.usage
    assert (
        "cuenta cómo te sientes" in {row.usage: row.summary for row in rows}["/mood [1-5] [NOTE]"]
    )


def test_every_help_text_of_these_features_is_in_the_catalogs() -> None:
    """Summaries, argument descriptions and refusals are all marked for translation."""
    marked = extract()
    for module in MARKED:
        feature = module.FEATURE
        assert feature.summary in marked, feature.name
        for command in feature.commands:
            assert command.summary in marked, command.usage
            for arg in command.args:
                if arg.invalid:
                    assert arg.invalid in marked, (command.usage, arg.name)


def test_usage_and_argument_refusals_speak_the_actor_language() -> None:
    """A wrong number of words gets the usage, a bad value its refusal, both in Arabic/Chinese."""
    family = REGISTRY.family("goal")
    assert family is not None
    progress = next(c for c in family if c.sub == "progress")
    with speaking("ar"), pytest.raises(UserError) as usage:
        parse_args(progress, "3", {})
    assert usage.value.message.startswith("الاستخدام: /goal progress ID PERCENT")
    mood_family = REGISTRY.family("mood")
    assert mood_family is not None
    with speaking("zh_Hans"), pytest.raises(UserError) as refusal:
        parse_args(mood_family[0], "9", {})
    assert refusal.value.message.startswith("“9”不是心情分数")
    with pytest.raises(UserError, match="'9' isn't a mood score"):
        parse_args(mood_family[0], "9", {})


def test_unknown_commands_and_refusals_are_translated() -> None:
    """The registry's own refusals and the default NotAllowed follow the spoken language."""
    with speaking("fr"):
        assert NotAllowed().message == "Désolé, ce n'est pas quelque chose que tu peux faire."
        with pytest.raises(UserError, match="Je ne connais pas la commande '/dance'"):
            # An unknown command is refused before the context is looked at.
            REGISTRY.run_command(cast(Context, None), "dance", "")
    assert NotAllowed().message == "Sorry, that isn't something you can do."


def test_registration_text_stays_english() -> None:
    """Command summaries as declared (what Discord registers) are the English."""
    family = REGISTRY.family("mood")
    assert family is not None
    with speaking("ko"):
        assert family[0].summary == "log how you feel; /mood alone shows your 14-day trend"
    assert any(row.usage.startswith("/alerts") for row in REGISTRY.help_rows(MENTOR))
