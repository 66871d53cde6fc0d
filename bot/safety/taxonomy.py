"""The risk taxonomy: every category the screen can report, its level and its words for mentors.

Codes are shared by the screen, the alerts (which store codes, never words) and the evaluation
corpus (`tests/safety/corpus/README.md`). The Columbia Suicide Severity Rating Scale's ideation
levels and the UK's safeguarding categories guided the split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from bot.i18n import N_, _

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
    # Finer labels for mentors. Each has a parent above (`CategoryInfo.parent`), which is what
    # the corpus and the recall figures count; alerts keep the finer code.
    SAFEGUARDING_HOME = "safeguarding_home"
    SAFEGUARDING_PHYSICAL = "safeguarding_physical"
    SAFEGUARDING_SEXUAL = "safeguarding_sexual"
    SAFEGUARDING_EXPLOITATION = "safeguarding_exploitation"
    SAFEGUARDING_COERCION = "safeguarding_coercion"
    SAFEGUARDING_DANGER = "safeguarding_danger"
    OVERDOSE = "overdose"
    RISK_MENTIONED = "risk_mentioned"
    LOW_MOOD = "low_mood"
    # A `/help` message that the screen also rated: the help request joins that alert.
    HELP_REQUEST = "help_request"
    SLEEP = "sleep"
    BASIC_NEEDS = "basic_needs"
    PANIC = "panic"
    # Catch-alls: a programme's own rule file with a category outside the taxonomy, and a
    # screen that failed (a person must read the message).
    OTHER_CRISIS = "other_crisis"
    OTHER_CONCERN = "other_concern"
    SCREEN_FAILED = "screen_failed"


@dataclass(frozen=True)
class CategoryInfo:
    """How serious a category is, which alert it raises and how a mentor reads it."""

    level: RiskLevel
    label: str
    parent: Category | None = None

    @property
    def family(self) -> Category | None:
        """The corpus category this one counts as (its parent), or None for a top-level one."""
        return self.parent


TAXONOMY: Final[dict[Category, CategoryInfo]] = {
    Category.PASSIVE_DEATH_WISH: CategoryInfo("crisis", N_("Wish to be dead")),
    Category.SUICIDAL_IDEATION: CategoryInfo("crisis", N_("Thoughts of suicide")),
    Category.SUICIDE_PLAN: CategoryInfo("crisis", N_("Suicide plan, intent or preparation")),
    Category.PAST_ATTEMPT: CategoryInfo("crisis", N_("Past suicide attempt, distressed now")),
    Category.SELF_HARM: CategoryInfo("crisis", N_("Self-harm or an urge to self-harm")),
    Category.HOPELESSNESS: CategoryInfo("crisis", N_("Hopeless about living")),
    Category.SAFEGUARDING: CategoryInfo("crisis", N_("Safeguarding: abuse or unsafe")),
    Category.HARM_TO_OTHERS: CategoryInfo("crisis", N_("Threat to hurt someone else")),
    Category.THIRD_PARTY: CategoryInfo("crisis", N_("Someone else may be at risk")),
    Category.WORTHLESSNESS: CategoryInfo("concern", N_("Feeling worthless")),
    Category.BURDEN: CategoryInfo("concern", N_("Feeling a burden")),
    Category.CANNOT_COPE: CategoryInfo("concern", N_("Not coping")),
    Category.BULLYING: CategoryInfo("concern", N_("Bullying or harassment")),
    Category.ISOLATION: CategoryInfo("concern", N_("Very lonely")),
    Category.SUBSTANCE_MISUSE: CategoryInfo("concern", N_("Drinking or drugs to cope")),
    Category.DISORDERED_EATING: CategoryInfo("concern", N_("Eating difficulties")),
    Category.SAFEGUARDING_HOME: CategoryInfo(
        "crisis", N_("Safeguarding: unsafe at home"), Category.SAFEGUARDING
    ),
    Category.SAFEGUARDING_PHYSICAL: CategoryInfo(
        "crisis", N_("Safeguarding: physical abuse or violence"), Category.SAFEGUARDING
    ),
    Category.SAFEGUARDING_SEXUAL: CategoryInfo(
        "crisis", N_("Safeguarding: sexual abuse"), Category.SAFEGUARDING
    ),
    Category.SAFEGUARDING_EXPLOITATION: CategoryInfo(
        "crisis", N_("Safeguarding: sexual exploitation or grooming"), Category.SAFEGUARDING
    ),
    Category.SAFEGUARDING_COERCION: CategoryInfo(
        "crisis", N_("Safeguarding: coercion, threats or control"), Category.SAFEGUARDING
    ),
    Category.SAFEGUARDING_DANGER: CategoryInfo(
        "crisis", N_("Safeguarding: in danger now"), Category.SAFEGUARDING
    ),
    Category.OVERDOSE: CategoryInfo(
        "crisis", N_("Overdose or taking too much medication"), Category.SUICIDE_PLAN
    ),
    Category.RISK_MENTIONED: CategoryInfo(
        "concern", N_("Mentioned suicide or self-harm (denied, past or unclear)")
    ),
    Category.LOW_MOOD: CategoryInfo("concern", N_("Very low mood")),
    Category.HELP_REQUEST: CategoryInfo("concern", N_("Asked to talk to their mentor")),
    Category.SLEEP: CategoryInfo("concern", N_("Not sleeping"), Category.CANNOT_COPE),
    Category.BASIC_NEEDS: CategoryInfo("concern", N_("No safe housing or food")),
    Category.PANIC: CategoryInfo("concern", N_("Panic or severe anxiety"), Category.CANNOT_COPE),
    Category.OTHER_CRISIS: CategoryInfo("crisis", N_("Crisis language")),
    Category.OTHER_CONCERN: CategoryInfo("concern", N_("Worrying message")),
    Category.SCREEN_FAILED: CategoryInfo("concern", N_("Could not be screened: please read it")),
}


def level_of(category: Category) -> RiskLevel:
    """The level a category raises on its own."""
    return TAXONOMY[category].level


def label_of(code: str) -> str:
    """The plain-language label of a category code, in the language being spoken.

    An unknown code reads as a generic one. `CategoryInfo.label` stays the English (logs,
    the corpus reports).
    """
    try:
        return _(TAXONOMY[Category(code)].label)
    except ValueError:
        return _("Worrying message")


def family_of(category: Category) -> Category:
    """The top-level category (the corpus's) that `category` counts as."""
    return TAXONOMY[category].parent or category


def as_category(code: str, level: RiskLevel = "concern") -> Category:
    """The category for a code, or the catch-all of `level` for a code outside the taxonomy."""
    try:
        return Category(code)
    except ValueError:
        return Category.OTHER_CRISIS if level == "crisis" else Category.OTHER_CONCERN


# Alert reasons store codes, never words: "crisis:passive_death_wish,self_harm".
_REASON = re.compile(r"(crisis|concern):([a-z0-9_]+(?:,[a-z0-9_]+)*)")


def alert_reason(level: RiskLevel, categories: Iterable[Category]) -> str:
    """The stored reason of a safety alert: its level and category codes, no words."""
    codes = ",".join(dict.fromkeys(str(c) for c in categories)) or (
        Category.OTHER_CRISIS if level == "crisis" else Category.OTHER_CONCERN
    )
    return f"{level}:{codes}"


# How a crisis-level category reads on a concern alert: the screen saw the subject but did
# not judge it a crisis (denied, framed as a story or an essay, said of the past), and the
# label must not tell a mentor otherwise.
CONCERN_SUFFIX: Final = N_(" (mentioned, not judged a crisis)")


def label_at(code: str, level: RiskLevel) -> str:
    """The label of a category code as an alert of `level` shows it.

    On a concern alert a crisis-level category reads as mentioned, never as the crisis
    itself ("Thoughts of suicide (mentioned, not judged a crisis)").
    """
    label = label_of(code)
    if level == "concern" and level_of(as_category(code)) == "crisis":
        return label + _(CONCERN_SUFFIX)
    return label


def render_reason(reason: str) -> str:
    """A stored alert reason in mentors' words: "Wish to be dead; Self-harm ...".

    The words match the alert's level: a concern alert never shows a crisis label bare
    (see `label_at`). Reasons that are not safety codes (mood alerts, help requests) are
    shown as stored.
    """
    found = _REASON.fullmatch(reason.strip())
    if found is None:
        return reason
    level: RiskLevel = "crisis" if found.group(1) == "crisis" else "concern"
    labels = [label_at(code, level) for code in found.group(2).split(",")]
    return "; ".join(dict.fromkeys(labels))


def with_category(reason: str, category: Category) -> str:
    """A stored safety reason with one more category code (unchanged if already there).

    A reason that is not a safety reason is returned as it is.
    """
    found = _REASON.fullmatch(reason.strip())
    if found is None:
        return reason
    codes = found.group(2).split(",")
    if str(category) in codes:
        return reason.strip()
    return f"{found.group(1)}:{','.join([*codes, str(category)])}"
