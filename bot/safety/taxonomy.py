"""The risk taxonomy: every category the screen can report, its level and its words for mentors.

Codes are shared by the screen, the alerts (which store codes, never words) and the evaluation
corpus (`tests/safety/corpus/README.md`). The Columbia Suicide Severity Rating Scale's ideation
levels and the UK's safeguarding categories guided the split.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

RiskLevel = Literal["concern", "crisis"]


class Category(StrEnum):
    """A kind of risk a message can show."""

    # crisis
    PASSIVE_DEATH_WISH = "passive_death_wish"
    SUICIDAL_IDEATION = "suicidal_ideation"
    SUICIDE_PLAN = "suicide_plan"
    PAST_ATTEMPT = "past_attempt"
    SELF_HARM = "self_harm"
    HOPELESSNESS = "hopelessness"
    SAFEGUARDING = "safeguarding"
    HARM_TO_OTHERS = "harm_to_others"
    THIRD_PARTY = "third_party"
    # concern
    WORTHLESSNESS = "worthlessness"
    BURDEN = "burden"
    CANNOT_COPE = "cannot_cope"
    BULLYING = "bullying"
    ISOLATION = "isolation"
    SUBSTANCE_MISUSE = "substance_misuse"
    DISORDERED_EATING = "disordered_eating"


@dataclass(frozen=True)
class CategoryInfo:
    """How serious a category is, which alert it raises and how a mentor reads it."""

    level: RiskLevel
    label: str


TAXONOMY: Final[dict[Category, CategoryInfo]] = {
    Category.PASSIVE_DEATH_WISH: CategoryInfo("crisis", "Wish to be dead"),
    Category.SUICIDAL_IDEATION: CategoryInfo("crisis", "Thoughts of suicide"),
    Category.SUICIDE_PLAN: CategoryInfo("crisis", "Suicide plan, intent or preparation"),
    Category.PAST_ATTEMPT: CategoryInfo("crisis", "Past suicide attempt, distressed now"),
    Category.SELF_HARM: CategoryInfo("crisis", "Self-harm or an urge to self-harm"),
    Category.HOPELESSNESS: CategoryInfo("crisis", "Hopeless about living"),
    Category.SAFEGUARDING: CategoryInfo("crisis", "Safeguarding: abuse or unsafe"),
    Category.HARM_TO_OTHERS: CategoryInfo("crisis", "Threat to hurt someone else"),
    Category.THIRD_PARTY: CategoryInfo("crisis", "Someone else may be at risk"),
    Category.WORTHLESSNESS: CategoryInfo("concern", "Feeling worthless"),
    Category.BURDEN: CategoryInfo("concern", "Feeling a burden"),
    Category.CANNOT_COPE: CategoryInfo("concern", "Not coping"),
    Category.BULLYING: CategoryInfo("concern", "Bullying or harassment"),
    Category.ISOLATION: CategoryInfo("concern", "Very lonely"),
    Category.SUBSTANCE_MISUSE: CategoryInfo("concern", "Drinking or drugs to cope"),
    Category.DISORDERED_EATING: CategoryInfo("concern", "Eating difficulties"),
}


def level_of(category: Category) -> RiskLevel:
    """The level a category raises on its own."""
    return TAXONOMY[category].level
