"""Email: a second channel for urgent alerts that does not depend on any chat platform."""

from adapters.email.messenger import PLATFORM, EmailConfig, EmailMessenger

__all__ = ["PLATFORM", "EmailConfig", "EmailMessenger"]
