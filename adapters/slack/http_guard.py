"""The door of HTTP mode: size, timestamp and signature checked before any byte is parsed.

bolt parses a body (form fields, the interactivity JSON) when its request object is built,
before its own signature middleware runs, and logs a rejected body at INFO. So nothing reaches
bolt until this guard has:

1. refused a body over the limit (413) from its Content-Length, or as soon as more bytes than
   the limit have arrived, without reading the rest;
2. refused a missing, non-numeric or more than five minutes old (or ahead) timestamp (401);
3. checked `X-Slack-Signature` against the raw bytes with the signing secret (401).

Only then is the body decoded and handed to bolt, with the signature in the bolt context
(`REPLAY_KEY`): listeners give it to the core as the event id of a slash command, button or
form, so a signed request replayed inside the five-minute window is answered (200, so Slack
doesn't retry) but processed once. The core records event ids in `processed_event` in the
same transaction as the work itself (a unique key, purged by retention), which works across
processes and instances and can't lose a request whose first attempt failed.

A rejected request is never logged with its body or a traceback: the guard only tells
`on_reject` the reason, and the composition root decides how to count it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger(__name__)

# Slack's own rule: a request whose timestamp is further than this from our clock is refused.
MAX_CLOCK_SKEW_SECONDS = 5 * 60
# Slack's payloads are small (a message's text is capped at 40,000 characters, a modal at 100
# blocks); a megabyte leaves room for a big view submission, and refuses anything larger.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
# The bolt context key listeners read the verified signature from.
REPLAY_KEY = "mentorbot_replay_key"
# Refusal reasons, as `on_reject` receives them (stable: a metric may be labelled with them).
TOO_LARGE = "too_large"
BAD_TIMESTAMP = "bad_timestamp"
STALE_TIMESTAMP = "stale_timestamp"
BAD_SIGNATURE = "bad_signature"
MALFORMED = "malformed"

# `mentorbot run` passes mentorbot.logs.rejected_request as `on_reject` (counts logged once a
# minute, and a metric); without it (tests), refusals are counted here by `count_rejected`.
REJECTED: Counter[str] = Counter()


def count_rejected(reason: str) -> None:
    """The default `on_reject`: count the refusal, log its reason (only) at DEBUG."""
    # Never add the body, headers or a traceback here.
    REJECTED[reason] += 1
    log.debug("refused a Slack HTTP request: %s", reason)


@dataclass(frozen=True)
class Verified:
    """A request whose size, timestamp and signature passed: its body and its signature."""

    body: str
    signature: str


def _refusal(status: int, reason: str) -> web.Response:
    # The reason is ours (no input echoed back); Slack only looks at the status.
    return web.json_response({"ok": False, "error": reason}, status=status)


class SlackRequestGuard:
    """Checks one HTTP request as Slack signs it; see the module docstring."""

    def __init__(
        self,
        signing_secret: str,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        on_reject: Callable[[str], None] = count_rejected,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not signing_secret:
            raise ValueError("the Slack request guard needs the signing secret")
        self._secret = signing_secret.encode("utf-8")
        self.max_body_bytes = max_body_bytes
        self.on_reject = on_reject
        self._now = now

    def refuse(self, status: int, reason: str) -> web.Response:
        """Count a refusal and build its response (also for callers after the guard)."""
        self.on_reject(reason)
        response = _refusal(status, reason)
        if status == 413:
            # Close after answering: otherwise aiohttp would go on reading (and discarding)
            # the rest of the oversized body to keep the connection alive.
            response.force_close()
        return response

    async def check(self, request: web.Request) -> Verified | web.Response:
        """The verified body, or the response refusing the request (413, 401 or 400)."""
        declared = request.content_length
        if declared is not None and declared > self.max_body_bytes:
            # Answered from the header: not one byte of the body is read.
            return self.refuse(413, TOO_LARGE)
        raw = await self._read_capped(request)
        if raw is None:
            return self.refuse(413, TOO_LARGE)
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "").strip()
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            return self.refuse(401, BAD_TIMESTAMP)
        if abs(self._now() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            return self.refuse(401, STALE_TIMESTAMP)
        signature = request.headers.get("X-Slack-Signature", "").strip()
        expected = (
            "v0="
            + hmac.new(
                self._secret, b"v0:" + timestamp.encode("ascii") + b":" + raw, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
            return self.refuse(401, BAD_SIGNATURE)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return self.refuse(400, MALFORMED)
        return Verified(body=body, signature=expected)

    async def _read_capped(self, request: web.Request) -> bytes | None:
        """The body, or None as soon as it grows past the limit (the rest is never read)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = await request.content.read(READ_CHUNK_BYTES)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)


__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "REPLAY_KEY",
    "SlackRequestGuard",
    "Verified",
    "count_rejected",
]
