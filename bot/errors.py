"""Errors the core turns into friendly replies."""

from __future__ import annotations

from bot.i18n import N_, _

# The refusal when nothing more specific is said (translated when it is raised).
NOT_ALLOWED = N_("Sorry, that isn't something you can do.")


class UserError(Exception):
    """Bad input or a request the person may not make; the message is shown to them as is.

    The message is already in the actor's language: raise `UserError(_("..."))`.

    Raising it rolls back the unit of work, so nothing half-done is stored.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(UserError):
    """The actor's role or relationship does not allow this."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(_(NOT_ALLOWED) if message is None else message)
