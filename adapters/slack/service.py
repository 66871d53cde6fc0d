"""Running the Slack adapter: Socket Mode (default) or HTTP mode, with fail-fast token checks.

HTTP mode serves `POST /slack/events` (events, slash commands and interactivity, all signed
by Slack: size, timestamp and signature are checked by `http_guard` before bolt parses a byte)
and `GET /healthz` on SLACK_HTTP_HOST:SLACK_HTTP_PORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.app import SlackAdapter
from adapters.slack.http_guard import (
    DEFAULT_MAX_BODY_BYTES,
    MALFORMED,
    REPLAY_KEY,
    SlackRequestGuard,
    count_rejected,
)
from adapters.slack.messenger import SlackMessenger, slack_error_code
from bot.core import MentorBot

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MODES = ("socket", "http")
DEFAULT_API_URL = "https://slack.com/api/"


class SlackStartupError(Exception):
    """Slack can't start as configured; the message says what to fix."""


@dataclass(frozen=True)
class SlackConfig:
    """What the adapter needs from the settings (the composition root fills it in)."""

    bot_token: str
    app_token: str | None = None
    signing_secret: str | None = None
    mode: str = "socket"
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    api_url: str = DEFAULT_API_URL
    # Several processes listen on one port (SLACK_HTTP_WORKERS): the kernel spreads connections.
    reuse_port: bool = False
    # HTTP mode: a larger body is refused with 413 before it is read (SLACK_MAX_BODY_BYTES).
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def problems(self) -> list[str]:
        """Configuration mistakes, in words a programme lead can act on."""
        found: list[str] = []
        if not self.bot_token:
            found.append("SLACK_BOT_TOKEN is empty")
        if self.mode not in MODES:
            found.append(f"SLACK_MODE must be socket or http, not {self.mode!r}")
        if self.mode == "socket" and not self.app_token:
            found.append("SLACK_MODE=socket needs SLACK_APP_TOKEN (an xapp- app-level token)")
        if self.mode == "http" and not self.signing_secret:
            found.append("SLACK_MODE=http needs SLACK_SIGNING_SECRET")
        return found


class SlackService:
    """The Slack adapter, its Messenger and its transport, started and stopped together."""

    def __init__(
        self,
        config: SlackConfig,
        core: MentorBot,
        *,
        client: AsyncWebClient | None = None,
        on_reject: Callable[[str], None] = count_rejected,
    ) -> None:
        """`on_reject` is told the reason of each refused HTTP request (never its body)."""
        self.config = config
        # SLACK_API_URL only moves the Web API (tests, benchmarks); nothing else changes.
        self.client = client or AsyncWebClient(token=config.bot_token, base_url=config.api_url)
        # Our own client gets one pooled HTTP session once started (see `start`).
        self._owns_client = client is None
        self.adapter = SlackAdapter(
            core,
            self.client,
            signing_secret=config.signing_secret if config.mode == "http" else None,
        )
        self._guard: SlackRequestGuard | None = None
        if config.mode == "http" and config.signing_secret:
            self._guard = SlackRequestGuard(
                config.signing_secret, max_body_bytes=config.max_body_bytes, on_reject=on_reject
            )
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.bot_user_id: str | None = None

    @property
    def messenger(self) -> SlackMessenger:
        """The Messenger the outbox delivery loop uses for Slack pushes."""
        return self.adapter.messenger

    async def start(self) -> None:
        """Check the tokens, then connect Socket Mode or start the HTTP server."""
        problems = self.config.problems()
        if problems:
            raise SlackStartupError("Slack is misconfigured: " + "; ".join(problems) + ".")
        auth = await self._checked("SLACK_BOT_TOKEN", self.client.auth_test())
        self.bot_user_id = str(auth.get("user_id") or "") or None
        if self.config.mode == "socket":
            await self._start_socket()
        else:
            await self._start_http()
        if self._owns_client and self.client.session is None:
            # Without a session the SDK opens a new connection for every Web API call; a
            # pooled one reuses them (measured: bench/answers.py).
            self.client.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.client.timeout)
            )
        if self.adapter.client.session is None:
            # The adapter's interactive client (its own retry handlers) shares the pool.
            self.adapter.client.session = self.client.session

    async def _checked(self, what: str, call: Awaitable[AsyncSlackResponse]) -> dict[str, Any]:
        try:
            response = await call
        except SlackApiError as exc:
            raise SlackStartupError(
                f"Slack rejected {what} ({slack_error_code(exc) or exc.response.status_code}). "
                "Check it in .env."
            ) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SlackStartupError(f"Can't reach Slack at {self.config.api_url}: {exc}") from exc
        return response.data if isinstance(response.data, dict) else {}

    async def _start_socket(self) -> None:
        assert self.config.app_token
        # A wrong app token makes the Socket Mode client retry forever without a word;
        # asking for a connection URL once first turns that into a clear error.
        await self._checked(
            "SLACK_APP_TOKEN", self.client.apps_connections_open(app_token=self.config.app_token)
        )
        self._socket = AsyncSocketModeHandler(self.adapter.app, app_token=self.config.app_token)
        # slack_bolt leaves connect_async/close_async unannotated (a third-party gap).
        await self._socket.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack connected in Socket Mode")

    async def _start_http(self) -> None:
        web_app = web.Application()
        web_app.router.add_post(EVENTS_PATH, self._handle_events)
        web_app.router.add_get(HEALTH_PATH, self._handle_health)
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(
            runner,
            self.config.http_host,
            self.config.http_port,
            reuse_port=self.config.reuse_port or None,
        )
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("Slack HTTP mode listening on %s:%s", self.config.http_host, self.port)

    async def _handle_events(self, request: web.Request) -> web.StreamResponse:
        guard = self._guard
        assert guard is not None  # HTTP mode is only started with a signing secret
        checked = await guard.check(request)
        if isinstance(checked, web.Response):
            return checked
        try:
            bolt_request = AsyncBoltRequest(
                body=checked.body,
                query=request.query_string,
                headers=dict(request.headers),
                context={REPLAY_KEY: checked.signature},
            )
            bolt_response = await self.adapter.app.async_dispatch(bolt_request)
        except Exception:
            # A signed body bolt can't parse: answer, count, keep serving. No traceback: the
            # parser's message may quote the body.
            return guard.refuse(400, MALFORMED)
        return await to_aiohttp_response(bolt_response)

    async def _handle_health(self, request: web.Request) -> web.StreamResponse:
        # The pid tells apart the processes that share the port (SLACK_HTTP_WORKERS).
        return web.json_response({"ok": True, "mode": self.config.mode, "pid": os.getpid()})

    async def connected(self) -> bool:
        """True while Socket Mode is connected, or the HTTP server is listening (health)."""
        if self._socket is not None:
            return bool(await self._socket.client.is_connected())
        return self._runner is not None

    async def stop(self) -> None:
        """Disconnect, stop serving, and let listeners already running finish."""
        if self._socket is not None:
            with contextlib.suppress(Exception):
                # Unannotated in slack_bolt (a third-party gap).
                await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        try:
            await asyncio.wait_for(self.adapter.drain(), timeout=10)
        except TimeoutError:
            log.warning("Slack listeners still busy at shutdown")
        if self._owns_client and self.client.session is not None:
            await self.client.session.close()
            self.client.session = None
            self.adapter.client.session = None

    async def run_until(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set (or the task is cancelled), then shut down cleanly."""
        try:
            await stop.wait()
        finally:
            await self.stop()
