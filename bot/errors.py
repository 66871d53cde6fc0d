"""Errors the core turns into friendly replies."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a request the person may not make; the message is shown to them as is.

    Raising it rolls back the unit of work, so nothing half-done is stored.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(UserError):
    """The actor's role or relationship does not allow this."""

    def __init__(self, message: str = "Sorry, that isn't something you can do.") -> None:
        super().__init__(message)
