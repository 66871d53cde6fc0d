"""Pytest fixtures for the loopback Slack fake.

Only tests under ``tests/mentorbot_fakes`` see these automatically; elsewhere import the fixture
(``from tests.mentorbot_fakes.conftest import slack_fake  # noqa: F401``) or build
``FakeSlack()`` directly with ``async with``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mentorbot_fakes.slack_api import FakeSlack


@pytest.fixture
async def slack_fake() -> AsyncIterator[FakeSlack]:
    """A started ``FakeSlack`` (bot token "xoxb-test", app token "xapp-test")."""
    async with FakeSlack() as fake:
        yield fake
