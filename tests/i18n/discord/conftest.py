"""The Discord harness (tests/adapters/discord/conftest.py) for the end-to-end language tests."""

from tests.adapters.discord.conftest import fake, start_bot, world

__all__ = ["fake", "start_bot", "world"]
