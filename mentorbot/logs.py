"""Logging that helps an operator and never carries what a student wrote.

Three lines of defence, because a student's crisis words in a log file undo encryption at
rest:

1. Our own code logs ids, counts and outcomes, never message text or names.
2. Client libraries (slack_bolt, slack_sdk, discord.py, aiohttp, APScheduler, SQLAlchemy)
   log request bodies, payloads and SQL parameters at DEBUG and INFO, and bolt even logs
   whole bodies at WARNING; their loggers are capped (`LIBRARY_FLOORS`) whatever LOG_LEVEL
   says.
3. A `RedactingFilter` on the root handler rewrites every record before it is written:
   tokens, e-mail addresses, anything shaped like a payload body (JSON or a dict repr, a
   form-encoded body, a tuple or list of strings such as a database row or SQL parameters)
   are replaced by a placeholder, in the message and in any traceback. It holds even with
   every library logger opened to DEBUG (tests/adapters/*/test_log_leaks.py).

Rejected Slack requests (a bad signature, an old timestamp) are counted with
`rejected_request(reason)` and logged at most once a minute as counts: a server clock five
minutes off must not fill the disk or the log with bodies and tracebacks.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Final

log = logging.getLogger(__name__)

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS: Final = ("text", "json")

# The lowest level each library may log at, whatever LOG_LEVEL says (see the module doc).
LIBRARY_FLOORS: Final[dict[str, int]] = {
    # bolt logs whole request bodies at INFO and WARNING (unhandled or rejected requests).
    "slack_bolt": logging.ERROR,
    # The adapter hands bolt this logger (adapters/slack/app.py): the same messages.
    "adapters.slack.bolt": logging.ERROR,
    # Web API and Socket Mode clients log request and response bodies at DEBUG/INFO.
    "slack_sdk": logging.WARNING,
    "slack": logging.WARNING,
    # The gateway logs every event payload at DEBUG; the HTTP client its request bodies.
    "discord": logging.WARNING,
    "aiohttp": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "apscheduler": logging.WARNING,
    # echo logs statements with their parameters: names, e-mails.
    "sqlalchemy": logging.WARNING,
    "alembic": logging.WARNING,
    "asyncio": logging.WARNING,
    "websockets": logging.WARNING,
}

REDACTED: Final = "[redacted]"
BODY_REDACTED: Final = "[payload removed]"

# Every pattern runs in linear time (possessive quantifiers, a look-behind so a match only
# starts at the beginning of a run): a filter that backtracks on a large gateway payload
# would stall the event loop that writes the log line.
# Credentials: Slack tokens and signing-secret-like hex, Discord bot tokens, bearer headers.
_TOKEN_PATTERNS: Final = (
    re.compile(r"\bx(?:ox[abeoprs]|app)-[A-Za-z0-9-]++"),
    # A Discord bot token: base64 user id, a timestamp part and an HMAC part.
    re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20,}+\.[A-Za-z0-9_-]{5,7}+\.[A-Za-z0-9_-]{25,}+"),
    re.compile(r"(?i)\b(bearer|bot|authorization)(:?[ \t]++)[A-Za-z0-9._~+/=-]{16,}+"),
    re.compile(
        r"(?i)\b(token|secret|password|signature)(['\"]?[ \t]*+[:=][ \t]*+['\"]?)[^\s'\",&}]++"
    ),
)
_EMAIL: Final = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++"
)
# A payload body: from the first brace/bracket that opens a mapping ('key': or "key":) to the
# end of the line. What a library prints after "body:" is a body, whatever its shape.
_MAPPING: Final = re.compile(
    r"[{\[][ \t]*+(?:\{[ \t]*+)?['\"][^'\"\n]{1,80}+['\"][ \t]*+:.*", re.DOTALL
)
_BODY_LABEL: Final = re.compile(
    r"(?i)\b(body|payload|data|content|text|message|params|parameters|json)"
    r"([ \t]*+[:=][ \t]*+|[ \t]*+\([ \t]*+)(b?['\"].*|\{.*|\[.*)",
    re.DOTALL,
)
# A tuple or list holding a string: database rows and bound parameters (names, e-mails,
# decrypted notes), an exception's repr carrying a message, a list of values.
_SEQUENCE: Final = re.compile(r"[(\[][^()\[\]'\"\n]*+b?['\"].*", re.DOTALL)
# A form-encoded body (a slash command): two or more key=value pairs joined by '&'.
_FORM: Final = re.compile(r"(?<![\w.%-])[\w.%-]++=[^&\s]*+(?:&[\w.%-]++=[^&\s]*+)++")
# SQLAlchemy appends the bound parameters to its errors: names, e-mails, sealed text.
_SQL_PARAMS: Final = re.compile(r"\[parameters: [^\n]*+")
# Longer messages are cut before redaction: a log line is no place for a whole payload.
MAX_MESSAGE: Final = 4000


def redact(text: str, *, keep_end: bool = False) -> str:
    """The text with credentials, e-mail addresses and payload bodies replaced.

    Text over MAX_MESSAGE characters is cut first: its start, or its end for a traceback
    (`keep_end`), whose last lines say what failed.
    """
    if not text:
        return text
    if len(text) > MAX_MESSAGE:
        text = "[cut] " + text[-MAX_MESSAGE:] if keep_end else text[:MAX_MESSAGE] + " [cut]"
    text = _SQL_PARAMS.sub(f"[parameters: {REDACTED}]", text)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(_keep_label, text)
    text = _EMAIL.sub(REDACTED, text)
    text = _BODY_LABEL.sub(lambda m: f"{m.group(1)}{m.group(2)}{BODY_REDACTED}", text)
    text = _MAPPING.sub(BODY_REDACTED, text)
    text = _SEQUENCE.sub(BODY_REDACTED, text)
    return _FORM.sub(BODY_REDACTED, text)


def _keep_label(match: re.Match[str]) -> str:
    """Keep a "token=" label in front of the redaction, so the line still says what it was."""
    if match.lastindex and match.lastindex >= 2:
        return f"{match.group(1)}{match.group(2)}{REDACTED}"
    if match.lastindex == 1:
        return f"{match.group(1)} {REDACTED}"
    return REDACTED


class RedactingFilter(logging.Filter):
    """Rewrites each record's message and traceback through `redact` (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; the handler's formatter then sees only the cleaned text."""
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string: keep the template, not the args
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, keep_end=True)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, keep_end=True)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception when any)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def parse_level(level: str | int) -> int:
    """A level name (any case) or number as the logging module's number."""
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.strip().upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}")
    return value


def configure_logging(
    level: str | int = "INFO", fmt: str = "text", *, stream: IO[str] | None = None
) -> logging.Handler:
    """Set up the root logger: one redacting handler, and the libraries capped.

    Replaces any handlers the root logger had (a second call reconfigures, not duplicates).
    Returns the handler, so a caller (a test) can remove it again.
    """
    if fmt not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    number = parse_level(level)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(number)
    cap_libraries(number)
    return handler


def cap_libraries(level: int) -> None:
    """Hold each library's logger at or above its floor (LOG_LEVEL=DEBUG included)."""
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(level, floor))


# ---------------------------------------------------------------- rejected requests


class RejectedRequests:
    """Counts rejected requests by reason and logs the counts at most once per interval."""

    def __init__(
        self,
        *,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.logger = logger or logging.getLogger("mentorbot.rejected")
        self.pending: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        self.listeners: list[Callable[[str], None]] = []
        self._last_log = clock()
        self._lock = threading.Lock()

    def add(self, reason: str) -> None:
        """Count one rejected request; log the counts if the interval has passed."""
        reason = _reason(reason)
        with self._lock:
            self.pending[reason] += 1
            self.total[reason] += 1
        for listener in self.listeners:
            listener(reason)
        self.flush()

    def flush(self, *, force: bool = False) -> dict[str, int]:
        """Log what was counted since the last line, if the interval has passed (or `force`)."""
        with self._lock:
            now = self.clock()
            if not self.pending or (not force and now - self._last_log < self.interval):
                return {}
            counts = dict(sorted(self.pending.items()))
            self.pending.clear()
            self._last_log = now
        self.logger.warning(
            "rejected %d Slack request(s) since the last report: %s",
            sum(counts.values()),
            ", ".join(f"{reason}={n}" for reason, n in counts.items()),
        )
        return counts


# The reasons a request can be refused for; anything else is counted as "other", so a
# caller that passes text it should not (a header, a body) cannot get it into a log line.
REJECTION_REASONS: Final = frozenset(
    {
        # adapters/slack/http_guard.py's reasons first.
        "too_large",
        "bad_timestamp",
        "stale_timestamp",
        "bad_signature",
        "malformed",
        "missing_signature",
        "old_timestamp",
        "replayed",
        "unknown_path",
    }
)


def _reason(reason: str) -> str:
    """A reason as one of REJECTION_REASONS, else "other"."""
    code = re.sub(r"[^a-z0-9]+", "_", reason.strip().lower()).strip("_")
    return code if code in REJECTION_REASONS else "other"


REJECTED = RejectedRequests()


def rejected_request(reason: str) -> None:
    """Count a request refused before processing: `reason` is one of REJECTION_REASONS.

    The Slack HTTP receiver calls this instead of logging the request; the counts are logged
    once a minute and exported as a metric.
    """
    REJECTED.add(reason)
