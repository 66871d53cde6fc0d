"""Headless Chromium over the DevTools protocol: load a page, collect errors, measure, shoot.

Chromium runs with no network, no sync, no extensions and a throwaway profile, and listens
for the DevTools protocol on 127.0.0.1 only (a port it picks, read from DevToolsActivePort).
aiohttp speaks the protocol's WebSocket; nothing else is needed.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1200,900",
)


def chromium_path() -> str | None:
    """The Chromium binary (Debian's `chromium`), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageCheck:
    """What loading a page showed: errors, chart sizes, a screenshot."""

    errors: list[str] = field(default_factory=list)
    chart_sizes: list[tuple[float, float]] = field(default_factory=list)
    title: str = ""
    screenshot: bytes = b""


def _port_in(marker: Path) -> int | None:
    text = marker.read_text() if marker.exists() else ""
    return int(text.splitlines()[0]) if text.strip() else None


async def _wait_for_port(profile: Path, process: asyncio.subprocess.Process) -> int:
    for _ in range(600):
        port = await asyncio.to_thread(_port_in, profile / "DevToolsActivePort")
        if port is not None:
            return port
        if process.returncode is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}")
        await asyncio.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


class _Cdp:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    async def until(self, method: str) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        while True:
            message = await self.ws.receive_json(timeout=30)
            self.events.append(message)
            if message.get("method") == method:
                return


async def check_page(url: str, profile: Path) -> PageCheck:
    """Open `url` in headless Chromium; errors, sizes of `figure svg`, and a screenshot."""
    binary = chromium_path()
    assert binary is not None
    process = await asyncio.create_subprocess_exec(
        binary,
        *FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "HOME": str(profile)},
    )
    try:
        port = await _wait_for_port(profile, process)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            page = next(t for t in targets if t.get("type") == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                cdp = _Cdp(ws)
                await cdp.call("Runtime.enable")
                await cdp.call("Log.enable")
                await cdp.call("Page.enable")
                await cdp.call("Page.navigate", url=url)
                await cdp.until("Page.loadEventFired")
                result = PageCheck()
                sizes = await cdp.call(
                    "Runtime.evaluate",
                    expression="JSON.stringify([...document.querySelectorAll('figure svg')]"
                    ".map(e => { const r = e.getBoundingClientRect(); "
                    "return [r.width, r.height]; }))",
                    returnByValue=True,
                )
                result.chart_sizes = [tuple(s) for s in json.loads(sizes["result"]["value"])]
                title = await cdp.call(
                    "Runtime.evaluate", expression="document.title", returnByValue=True
                )
                result.title = str(title["result"]["value"])
                shot = await cdp.call(
                    "Page.captureScreenshot", format="png", captureBeyondViewport=True
                )
                result.screenshot = base64.b64decode(shot["data"])
                for event in cdp.events:
                    method = event.get("method")
                    params = event.get("params", {})
                    if method == "Runtime.exceptionThrown":
                        result.errors.append(str(params.get("exceptionDetails", {})))
                    elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                        "error",
                        "assert",
                    ):
                        result.errors.append(str(params.get("args")))
                    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in (
                        "error",
                    ):
                        result.errors.append(str(params["entry"].get("text")))
                return result
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
