"""The check-in prompt serialised once per occurrence equals the prompt serialised per student."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.model import Message, SerialisedMessage
from bot.services.checkins import CheckinPromptJson, checkin_prompt

NAMES = [
    "Ada Lovelace",
    "",
    "Zoë",
    'Jo "JJ" Smith',
    "back\\slash",
    "tab\there",
    "控制 字符",
    "emoji 🙂 name",
    "\u2028line separator",
    "\x00nul",
    "</script>",
    "\ue000first-name\ue000",
    "7391046285173902468",
]


def test_template_matches_the_prompt_for_awkward_names() -> None:
    """Quotes, backslashes, control and non-ASCII characters serialise exactly as before."""
    template = CheckinPromptJson()
    for checkin_id in (1, 42, 7_391_046_285_173_902_468, 10**12):
        for name in NAMES:
            assert template.render(checkin_id, name) == checkin_prompt(checkin_id, name).to_json()


@settings(max_examples=300, deadline=None)
@given(checkin_id=st.integers(min_value=1, max_value=2**63 - 1), name=st.text(max_size=40))
def test_template_matches_the_prompt_for_any_name(checkin_id: int, name: str) -> None:
    """For any id and name the filled template is the prompt's own JSON."""
    assume(name == "" or name.split())  # a blank non-empty name fails in both alike
    assert CheckinPromptJson().render(checkin_id, name) == (
        checkin_prompt(checkin_id, name).to_json()
    )


def test_rendered_prompt_reads_back_as_the_prompt() -> None:
    """The delivery loop rebuilds the same Message from the stored text."""
    rendered = CheckinPromptJson().render(17, "Sam Lee")
    assert isinstance(rendered, SerialisedMessage)
    assert Message.from_json(rendered) == checkin_prompt(17, "Sam Lee")
