"""Every student in their own language and country, on Slack (see ../test_e2e_languages.py)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack.users import UserDirectory
from bot.clock import FixedClock
from bot.i18n import speaking
from mentorbot_fakes.slack_api import FakeSlack
from tests.adapters.slack.conftest import MENTOR, STUDENT, Harness, all_text, push_checkin
from tests.i18n.test_e2e_languages import (
    CASES,
    CRISIS,
    IDS,
    RESOURCE_OF,
    Case,
    card_texts,
    mood_line,
    pushes_to,
    set_people,
)

# ---------------------------------------------------------------- Slack


async def _slack_answers(slack: Harness, text: str) -> list[dict[str, Any]]:
    status, name = await slack.command(text)
    assert status == 200
    await slack.settle()
    return [post.body for post in slack.fake.response_posts_to(name) if post.body]


def _slack_text(body: dict[str, Any]) -> str:
    return f"{body.get('text', '')}\n{all_text(body.get('blocks'))}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_slack_mood_and_crisis_in_the_students_language(slack: Harness, case: Case) -> None:
    """On Slack: the low mood's answer and resource, and the card with the country's lines."""
    set_people(slack.db, "sam@example.edu", "maya@example.edu", case)
    [body] = await _slack_answers(slack, "mood 2")
    text = _slack_text(body)
    assert mood_line(case.language, 2) in text
    assert RESOURCE_OF[case.language] in text
    assert text.index(RESOURCE_OF[case.language]) < text.index("Feeling low")
    [card] = await _slack_answers(slack, f"mood 1 {CRISIS}")
    title, _text = card_texts(slack.db, "sam@example.edu", case.language)
    card_text = _slack_text(card)
    assert title in card_text and case.first_line in card_text


async def test_slack_profile_lookup_asks_for_the_locale(fake: FakeSlack) -> None:
    """users.info with include_locale: the actor carries the client's locale, as Slack sends it."""
    fake.add_user("U0LOCALE01", email="lu@example.edu", tz="Asia/Riyadh", locale="ar-SA")
    actor = await UserDirectory(fake.web_client()).actor("T0001", "U0LOCALE01")
    assert actor.locale == "ar-SA"


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_slack_checkin_goal_and_mentor_alert_are_translated(
    slack: Harness, clock: FixedClock, case: Case
) -> None:
    """On Slack: the check-in prompt, the goal reply, and the mentor's alert in their language."""
    set_people(slack.db, "sam@example.edu", "maya@example.edu", case)
    with speaking(case.language):  # the scheduler renders a check-in in its recipient's language
        push_checkin(slack.db, clock)
    await slack.delivery.deliver_once(["slack"])
    [prompt] = slack.dm_messages(STUDENT)
    assert "how are you feeling today" not in prompt.text
    [goal] = await _slack_answers(slack, "goal add Finish the essay")
    assert "New goal" not in _slack_text(goal)
    await _slack_answers(slack, f"mood 1 {CRISIS}")
    await slack.delivery.deliver_once(["slack"])
    queued = [m for m in pushes_to(slack.db, "maya@example.edu") if m.urgent]
    assert queued and all(m.language == case.mentor_language for m in queued)
    delivered = [m for m in slack.dm_messages(MENTOR) if "🚨" in m.text]
    assert delivered and all("CRISIS" not in m.text for m in delivered)  # e.g. CRISE, KRISE
