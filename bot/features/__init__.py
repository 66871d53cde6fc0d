"""The features, one module each; `all_features()` lists them in the order the bot uses.

The order is the order of help rows, of claims on free text (a check-in note before a
workshop comment) and of the tick's jobs (check-ins open before reminders go out).
"""

from __future__ import annotations

from bot.features import (
    alerts,
    casefile,
    caseload,
    checkins,
    goals,
    groups,
    help,
    home,
    meetings,
    mood,
    mydata,
    pairing,
    pause,
    people,
    prompts,
    resources,
    schedules,
    settings,
    workshops,
)
from bot.registry import Feature, Registry


def all_features() -> list[Feature]:
    """Every feature of the bot, in order (see the module docstring)."""
    return [
        people.FEATURE,
        checkins.FEATURE,
        mood.FEATURE,
        goals.FEATURE,
        resources.FEATURE,
        help.FEATURE,
        pause.FEATURE,
        settings.FEATURE,
        mydata.FEATURE,
        home.FEATURE,
        alerts.FEATURE,
        caseload.FEATURE,
        casefile.FEATURE,
        workshops.FEATURE,
        groups.FEATURE,
        prompts.FEATURE,
        pairing.FEATURE,
        schedules.FEATURE,
        meetings.FEATURE,
    ]


def build_registry(features: list[Feature] | None = None) -> Registry:
    """The registry of `features` (all of them by default)."""
    return Registry(all_features() if features is None else features)
