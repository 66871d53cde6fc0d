"""Where discord.py sends REST calls and opens the gateway: DISCORD_API_URL / DISCORD_GATEWAY_URL.

discord.py 2.x has no per-client setting for either URL, so both are class attributes:

* ``discord.http.Route.BASE``: every REST call (including interaction callbacks and webhook
  follow-ups, which import the same ``Route``) is built as ``Route.BASE + path`` when the
  ``Route`` is created, so a change applies to all later requests. It must include the API
  version (``/api/v10``) and have no trailing slash.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``: a plain ``discord.Client`` connects
  there directly (it never asks GET /gateway) and resumes at READY's ``resume_gateway_url``.

They are process-wide, which is fine for one bot per process; tests use
:func:`discord_pointed_at` so the old values come back afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import discord.gateway
import discord.http
import yarl

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
API_VERSION_PATH = "/api/v10"


def normalise_api_url(api_url: str) -> str:
    """The REST base as ``Route.BASE`` wants it: no trailing slash, API version included.

    A bare host (``http://127.0.0.1:8080``) gets ``/api/v10`` appended, because without it
    every call would miss the API and fail with confusing 404s.
    """
    base = api_url.strip().rstrip("/")
    if not yarl.URL(base).path.strip("/"):
        base += API_VERSION_PATH
    return base


def point_discord_at(api_url: str, gateway_url: str) -> None:
    """Make every discord.py client in this process use these REST and gateway URLs."""
    discord.http.Route.BASE = normalise_api_url(api_url)
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url.strip())


@contextlib.contextmanager
def discord_pointed_at(api_url: str, gateway_url: str) -> Iterator[None]:
    """:func:`point_discord_at` for the duration of a block, restoring the old URLs after."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    point_discord_at(api_url, gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
