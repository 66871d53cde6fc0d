"""Button and modal custom ids that carry the core action, so they work after a restart.

A button's custom id is ``mb:<action>:<args>`` where args are ``key=value`` pairs joined by
``&`` and percent-encoded, e.g. ``mb:checkin.mood:checkin=42&score=3``. Nothing is kept in
memory: whichever process receives the press decodes the id and hands the action to the core.
Modals use ``mb:form:<form name>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, unquote

PREFIX = "mb"
FORM_PREFIX = f"{PREFIX}:form:"
#: Discord's limit for a component or modal custom id.
MAX_CUSTOM_ID = 100
#: Regex for discord.ui.DynamicItem: any of our action buttons (``form`` is a modal, not a button).
BUTTON_TEMPLATE = rf"{PREFIX}:(?P<action>(?!form:)[A-Za-z0-9_.\-]+):(?P<args>[^:]*)"
# Added to make two otherwise identical buttons unique within one message; never an action arg.
_UNIQUE_KEY = "_"
_SAFE = ""


class CustomIdTooLong(ValueError):
    """The action and its arguments don't fit into Discord's 100 characters."""


def encode_action(action: str, args: Iterable[tuple[str, str]], *, unique: int = 0) -> str:
    """The custom id of a button that sends ``action`` with ``args`` to the core."""
    pairs = [f"{quote(key, safe=_SAFE)}={quote(value, safe=_SAFE)}" for key, value in args]
    if unique:
        pairs.append(f"{_UNIQUE_KEY}={unique}")
    custom_id = f"{PREFIX}:{action}:{'&'.join(pairs)}"
    if len(custom_id) > MAX_CUSTOM_ID:
        raise CustomIdTooLong(f"custom id for {action!r} is {len(custom_id)} characters")
    return custom_id


def decode_action(custom_id: str) -> tuple[str, dict[str, str]] | None:
    """``(action, args)`` from a button's custom id; None when it isn't one of ours."""
    prefix, sep, rest = custom_id.partition(":")
    action, sep2, raw_args = rest.partition(":")
    if prefix != PREFIX or not sep or not sep2 or not action or action == "form":
        return None
    args: dict[str, str] = {}
    for pair in raw_args.split("&") if raw_args else ():
        key, eq, value = pair.partition("=")
        if not eq:
            return None
        key = unquote(key)
        if key != _UNIQUE_KEY:
            args[key] = unquote(value)
    return action, args


def form_custom_id(form: str) -> str:
    """The custom id of the modal that submits the core form ``form``."""
    return f"{FORM_PREFIX}{form}"


def decode_form(custom_id: str) -> str | None:
    """The core form name from a modal's custom id; None when it isn't one of ours."""
    if not custom_id.startswith(FORM_PREFIX):
        return None
    return custom_id.removeprefix(FORM_PREFIX) or None


def form_with_ref(form: str, ref: str) -> str:
    """The custom id of a modal about one record (``mb:form:alert.resolve:12``)."""
    return f"{form_custom_id(form)}:{quote(ref, safe=_SAFE)}"


def split_form_ref(name: str) -> tuple[str, str]:
    """A decoded form name and the record it is about: ``("alert.resolve", "12")``."""
    form, _, ref = name.partition(":")
    return form, unquote(ref)
