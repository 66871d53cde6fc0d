"""Who is clicking: Slack user ids to core Actors, with the profile email and time zone.

The core links a Slack user to the roster by `slack_user_id` or, on first contact, by the
profile email; it fills a missing time zone from the profile. users.info answers are kept in a
small in-memory LRU so a burst of check-in answers costs one lookup per person, not one per
event. Nothing about anyone is written anywhere by this module.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.messenger import slack_error_code
from bot.model import Actor

log = logging.getLogger(__name__)

PLATFORM = "slack"


@dataclass(frozen=True)
class SlackProfile:
    """What the core may use from a Slack profile."""

    email: str | None
    timezone: str | None
    display_name: str | None
    locale: str | None = None


NO_PROFILE = SlackProfile(email=None, timezone=None, display_name=None)


class UserDirectory:
    """users.info with an LRU cache and one request in flight per user."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        max_size: int = 1024,
        ttl_seconds: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.max_size = max_size
        self.ttl_seconds = ttl_seconds
        self._monotonic = monotonic
        self._cache: OrderedDict[str, tuple[float, SlackProfile]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[SlackProfile]] = {}

    async def actor(self, team_id: str, user_id: str) -> Actor:
        """The core Actor for a Slack user, with email and time zone when Slack has them."""
        return _with_profile(team_id, user_id, await self.profile(user_id))

    def cheap_actor(self, team_id: str, user_id: str) -> Actor:
        """The Actor with the profile only if it is cached: no users.info call.

        Most events come from people the core already knows by their Slack id, and a 09:00
        burst would otherwise spend one users.info (rate-limited by Slack: Tier 4) per
        student. When the core needs the profile it says so (`Reply.needs_profile`) and the
        adapter asks again with `actor`.
        """
        cached = self._cache.get(user_id)
        if cached is not None and self._monotonic() - cached[0] < self.ttl_seconds:
            return _with_profile(team_id, user_id, cached[1])
        return Actor(platform=PLATFORM, workspace=team_id, user_id=user_id, profile_omitted=True)

    async def profile(self, user_id: str) -> SlackProfile:
        """The user's profile, cached; an empty profile when Slack can't tell us."""
        cached = self._cache.get(user_id)
        now = self._monotonic()
        if cached is not None and now - cached[0] < self.ttl_seconds:
            self._cache.move_to_end(user_id)
            return cached[1]
        pending = self._pending.get(user_id)
        if pending is not None:
            # A burst of events from one person shares the lookup already under way.
            return await asyncio.shield(pending)
        future: asyncio.Future[SlackProfile] = asyncio.get_running_loop().create_future()
        self._pending[user_id] = future
        try:
            profile, cacheable = await self._fetch(user_id)
            if cacheable:
                self._remember(user_id, profile)
            future.set_result(profile)
            return profile
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            # Nobody else may be waiting; don't let asyncio warn about an unread exception.
            future.exception()
            raise
        finally:
            del self._pending[user_id]

    def _remember(self, user_id: str, profile: SlackProfile) -> None:
        self._cache[user_id] = (self._monotonic(), profile)
        self._cache.move_to_end(user_id)
        while len(self._cache) > self.max_size:
            self._cache.popitem(last=False)

    async def _fetch(self, user_id: str) -> tuple[SlackProfile, bool]:
        """Ask users.info; returns the profile and whether the answer may be cached."""
        try:
            response = await self.client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            code = slack_error_code(exc)
            # A deleted or unknown user stays unknown; a rate limit or outage is temporary,
            # and the roster's slack_user_id may still identify the person meanwhile.
            log.info("users.info %s failed: %s", user_id, code or exc.response.status_code)
            return NO_PROFILE, code in ("user_not_found", "users_not_found")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("users.info %s failed: %r", user_id, exc)
            return NO_PROFILE, False
        user = response.get("user") or {}
        if user.get("is_bot") or user.get("deleted"):
            return NO_PROFILE, True
        profile = user.get("profile") or {}
        email = profile.get("email")
        timezone = user.get("tz")
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        locale = user.get("locale")  # sent only with include_locale, e.g. "es-ES"
        return (
            SlackProfile(
                email=str(email).strip().lower() if email else None,
                timezone=str(timezone) if timezone else None,
                display_name=str(name) if name else None,
                locale=str(locale) if locale else None,
            ),
            True,
        )


def _with_profile(team_id: str, user_id: str, profile: SlackProfile) -> Actor:
    return Actor(
        platform=PLATFORM,
        workspace=team_id,
        user_id=user_id,
        email=profile.email,
        display_name=profile.display_name,
        timezone=profile.timezone,
        locale=profile.locale,
    )
