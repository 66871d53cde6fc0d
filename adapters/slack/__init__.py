"""The Slack adapter: bolt AsyncApp in Socket Mode or HTTP mode, Block Kit rendering."""

from adapters.slack.app import SlackAdapter
from adapters.slack.messenger import SlackMessenger
from adapters.slack.service import SlackConfig, SlackService, SlackStartupError

PLATFORM = "slack"

__all__ = [
    "PLATFORM",
    "SlackAdapter",
    "SlackConfig",
    "SlackMessenger",
    "SlackService",
    "SlackStartupError",
]
