"""The safety screen every piece of student free text passes through first.

`assess(text)` returns an `Assessment` whose `level` is "none", "concern" or "crisis". Rules
live in `rules.yaml` beside this file (programme staff can add files of their own, loaded with
`load_rules(paths)` and installed with `set_default_screen(Screen(load_rules(paths)))`).
A small learned model (`bot.safety.model`, weights in `model.npz`, trained by
`python -m bot.safety.train` on the development sets only) may then raise the rules' level,
never lower it; `Screen(rules, learned=False)` screens with the rules alone.
Text normalisation lives in `bot.safety.normalise` (not re-exported here, so the module name
is not shadowed by its function of the same name).
"""

from bot.safety.rules import LEVELS, Level, Rule, RuleFileError, load_rules, severity
from bot.safety.screen import (
    NO_CONCERN,
    Assessment,
    Screen,
    assess,
    default_screen,
    set_default_screen,
)
from bot.safety.taxonomy import Category, alert_reason, render_reason

__all__ = [
    "LEVELS",
    "NO_CONCERN",
    "Assessment",
    "Category",
    "Level",
    "Rule",
    "RuleFileError",
    "Screen",
    "alert_reason",
    "assess",
    "default_screen",
    "load_rules",
    "render_reason",
    "set_default_screen",
    "severity",
]
