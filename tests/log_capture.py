"""Capture everything the process logs, as production writes it, for the log-leak tests.

`captured_logs()` installs mentorbot's own logging (mentorbot.logs.configure_logging) at
DEBUG on a string stream. With `uncapped=True` every library logger is then opened to DEBUG
too, so the redacting filter at the root handler is the only defence left: the tests run both
ways. Everything is put back afterwards (pytest's own handlers included).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from mentorbot.logs import LIBRARY_FLOORS, configure_logging

# Library loggers that exist only once used; named so `uncapped` opens them in advance.
EXTRA_LIBRARIES = (
    "slack_bolt.App",
    "slack_sdk.web.async_base_client",
    "slack_sdk.socket_mode.aiohttp",
    "discord.gateway",
    "discord.http",
    "discord.client",
    "discord.state",
    "sqlalchemy.engine.Engine",
    "sqlalchemy.pool",
    "aiohttp.server",
    "aiohttp.client",
    "apscheduler.scheduler",
)


@contextmanager
def captured_logs(*, uncapped: bool = False) -> Iterator[io.StringIO]:
    """Log at DEBUG into a string (libraries capped as in production, or all at DEBUG)."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    names = {*LIBRARY_FLOORS, *EXTRA_LIBRARIES, *logging.root.manager.loggerDict}
    saved_levels = {name: logging.getLogger(name).level for name in names}
    stream = io.StringIO()
    configure_logging("DEBUG", "text", stream=stream)
    if uncapped:
        for name in names:
            logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def leaks(text: str, secrets: Sequence[str]) -> list[str]:
    """The secrets that appear in `text` (case-insensitive), each with a line that has it."""
    found = []
    lower = text.lower()
    for secret in secrets:
        if secret.lower() in lower:
            line = next(ln for ln in text.splitlines() if secret.lower() in ln.lower())
            found.append(f"{secret!r} in: {line[:300]}")
    return found
