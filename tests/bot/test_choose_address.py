"""Choosing a push address among a person's identities (no database)."""

from __future__ import annotations

from bot.model import Recipient
from bot.outbox import choose_address
from bot.services.occurrences import IdentityRow, StudentRow


def _student(preferred: str | None) -> StudentRow:
    """A student row preferring `preferred`."""
    return StudentRow(1, "Sam Lee", "sam@example.edu", "UTC", "21:00", "08:00", preferred, None)


def test_single_identity_is_chosen_whatever_is_preferred() -> None:
    """With one identity it is the address, even on another platform than preferred."""
    only = [IdentityRow(1, "discord", "42", "D42")]
    for preferred in (None, "slack", "discord"):
        assert choose_address(_student(preferred), only) == Recipient("discord", "42", "D42")


def test_unknown_platform_alone_is_still_chosen() -> None:
    """An identity on a platform outside the ranking is used when it is the only one."""
    only = [IdentityRow(1, "matrix", "@sam", None)]
    assert choose_address(_student(None), only) == Recipient("matrix", "@sam", None)


def test_preferred_then_ranking_then_console() -> None:
    """The preferred platform wins, else Slack before Discord, else the console by email."""
    both = [IdentityRow(1, "discord", "42", "D42"), IdentityRow(1, "slack", "U1", "D1")]
    assert choose_address(_student("discord"), both).platform == "discord"
    assert choose_address(_student(None), both).platform == "slack"
    assert choose_address(_student(None), []) == Recipient("console", "sam@example.edu", None)
