"""A loopback webhook receiver (aiohttp) that keeps every POST, for the alert webhook's tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web


@dataclass
class Hook:
    """One POST as received: raw body, headers, parsed JSON."""

    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class FakeWebhook:
    """Answers `status` (200 by default) to every POST on /hook."""

    status: int = 200
    received: list[Hook] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0

    async def _hook(self, request: web.Request) -> web.Response:
        self.received.append(Hook(await request.read(), dict(request.headers)))
        return web.Response(status=self.status, text="ok")

    @property
    def url(self) -> str:
        """Where to POST (once started)."""
        return f"http://127.0.0.1:{self.port}/hook"

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])  # (host, port) of the bound socket
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
