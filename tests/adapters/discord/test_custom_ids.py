"""Custom ids carry the core action and its arguments, so any process can decode a press."""

from __future__ import annotations

import re

import pytest

from adapters.discord.custom_ids import (
    BUTTON_TEMPLATE,
    CustomIdTooLong,
    decode_action,
    decode_form,
    encode_action,
    form_custom_id,
)


def test_round_trip_with_awkward_characters() -> None:
    """Arguments with separators and unicode survive encoding and decoding."""
    args = (("goal", "12"), ("note", "a=b&c:d é"))
    custom_id = encode_action("checkin.goal", args)
    assert custom_id.startswith("mb:checkin.goal:")
    assert decode_action(custom_id) == ("checkin.goal", dict(args))
    assert re.fullmatch(BUTTON_TEMPLATE, custom_id)


def test_foreign_and_form_ids_are_not_actions() -> None:
    """Ids of other bots, malformed ids and modal ids don't decode as button actions."""
    for custom_id in ("mentorbot:ack", "mb:", "mb:x", "mb:x:novalue", "mb:form:goal.add"):
        assert decode_action(custom_id) is None
    assert not re.fullmatch(BUTTON_TEMPLATE, "mb:form:goal.add")


def test_form_ids() -> None:
    """Modal ids name the core form."""
    assert decode_form(form_custom_id("goal.add")) == "goal.add"
    assert decode_form("mb:checkin.mood:") is None


def test_too_long_is_refused() -> None:
    """Discord allows 100 characters; longer ids are refused rather than truncated."""
    with pytest.raises(CustomIdTooLong):
        encode_action("x", (("k", "v" * 100),))
