"""The Slack harness (tests/adapters/slack/conftest.py) for the end-to-end language tests."""

from tests.adapters.slack.conftest import fake, slack, slack_roster

__all__ = ["fake", "slack", "slack_roster"]
