"""Pytest fixtures for the loopback Slack fake.

Only tests under ``tests/fakes`` see these automatically; elsewhere import the fixture
(``from tests.fakes.conftest import slack_fake  # noqa: F401``) or build
``FakeSlack()`` directly with ``async with``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.slack_api import FakeSlack


@pytest.fixture
async def slack_fake() -> AsyncIterator[FakeSlack]:
    """A started ``FakeSlack`` (bot token "xoxb-test", app token "xapp-test")."""
    async with FakeSlack() as fake:
        yield fake
