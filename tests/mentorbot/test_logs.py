"""Logging: levels and formats from the settings, libraries capped, secrets and bodies redacted."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from mentorbot.cli import main
from mentorbot.logs import (
    BODY_REDACTED,
    LIBRARY_FLOORS,
    REDACTED,
    RejectedRequests,
    configure_logging,
    redact,
)
from mentorbot.settings import ObservabilitySettings

CRISIS_WORDS = "I want to end it all tonight"


@pytest.mark.parametrize(
    "line",
    [
        "auth with xoxb-1234-5678-abcdefABCDEF",
        "socket with xapp-1-A0123-4567-89abcdef",
        "token MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GhIjKl.abcdefghijklmnopqrstuvwxyz0123 rejected",
        "headers {'Authorization': 'Bot MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GhIjKl.abcdefghijklmnopqrst'}",
        "looked up sam.student@example.edu",
        f"request body: {{'event': {{'text': '{CRISIS_WORDS}'}}}}",
        f'Unhandled request ({{"type": "event_callback", "event": {{"text": "{CRISIS_WORDS}"}}}})',
        f"token=abc&team_id=T1&user_name=sam&text={CRISIS_WORDS.replace(' ', '+')}",
        f"IntegrityError (x) [SQL: INSERT INTO note] [parameters: ('{CRISIS_WORDS}', 3)]",
        f"Sending a request - url: https://x/api/chat.update, body: {{'text': '{CRISIS_WORDS}'",
    ],
)
def test_redact_removes_tokens_emails_and_bodies(line: str) -> None:
    """Every shape of secret or payload a library prints is replaced."""
    cleaned = redact(line)
    for secret in (
        "xoxb-",
        "xapp-",
        "GhIjKl",
        "@example.edu",
        "end it all",
        "end+it+all",
        "user_name=sam",
    ):
        assert secret not in cleaned, cleaned
    assert REDACTED in cleaned or BODY_REDACTED in cleaned


def test_redact_keeps_ordinary_operational_lines() -> None:
    """Ids, counts and outcomes pass through unchanged: the log stays useful."""
    for line in (
        "delivery: 12 sent, 0 to retry, 0 failed, 0 deferred in 1.5 s",
        "alert 17 delivered on slack (outbox row 40)",
        "Slack connected in Socket Mode",
    ):
        assert redact(line) == line


def capture(level: str, fmt: str) -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    return stream, configure_logging(level, fmt, stream=stream)


@pytest.fixture
def restore_logging():
    """Put the root logger and the library loggers back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARY_FLOORS}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_libraries_stay_capped_at_debug(restore_logging) -> None:
    """LOG_LEVEL=DEBUG opens our loggers, not bolt's or discord.py's body dumps."""
    stream, _ = capture("DEBUG", "text")
    logging.getLogger("mentorbot.test").debug("our debug line")
    logging.getLogger("slack_bolt.App").info("request body: %s", {"text": CRISIS_WORDS})
    logging.getLogger("slack_bolt.App").warning("Unhandled request (%s)", {"text": CRISIS_WORDS})
    logging.getLogger("discord.gateway").debug("WebSocket Event: %s", {"content": CRISIS_WORDS})
    logging.getLogger("sqlalchemy.engine.Engine").info("[generated] (%r,)", CRISIS_WORDS)
    logging.getLogger("adapters.slack.bolt").info("Request body: %s", CRISIS_WORDS)
    out = stream.getvalue()
    assert "our debug line" in out
    assert "end it all" not in out


def test_redaction_applies_to_tracebacks_and_json(restore_logging) -> None:
    """LOG_FORMAT=json writes one object a line; an exception's text is redacted too."""
    stream, _ = capture("INFO", "json")
    try:
        raise ValueError(f"bad payload {{'text': '{CRISIS_WORDS}'}} from sam@example.edu")
    except ValueError:
        logging.getLogger("mentorbot.test").exception("handling %s failed", "xoxb-1-2-3")
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "mentorbot.test"
    assert "ValueError" in entry["exception"]
    assert "end it all" not in line and "sam@example.edu" not in line and "xoxb-1" not in line


def test_settings_validate_level_and_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """LOG_LEVEL and LOG_FORMAT are checked, case-insensitively."""
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    settings = ObservabilitySettings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        ObservabilitySettings(_env_file=None)  # type: ignore[call-arg]


def test_a_bad_log_format_is_a_friendly_configuration_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path, restore_logging
) -> None:
    """The CLI says what is wrong with LOG_FORMAT instead of a traceback."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_FORMAT", "xml")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "LOG_FORMAT" in err and "Traceback" not in err


def test_rejected_requests_are_logged_once_a_minute_as_counts() -> None:
    """A flood of rejections is one line a minute with counts, never a body."""
    now = [0.0]
    stream = io.StringIO()
    logger = logging.getLogger("mentorbot.test.rejected")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    seen: list[str] = []
    counter = RejectedRequests(interval=60.0, clock=lambda: now[0], logger=logger)
    counter.listeners.append(seen.append)
    try:
        for _ in range(500):
            counter.add("bad_signature")
        counter.add("old timestamp")
        counter.add(f"body {CRISIS_WORDS}")
        assert stream.getvalue() == ""  # less than a minute: nothing logged yet
        now[0] = 61.0
        counter.add("bad_signature")
        lines = stream.getvalue().splitlines()
        assert len(lines) == 1
        assert "503" in lines[0] and "bad_signature=501" in lines[0]
        assert "old_timestamp=1" in lines[0] and "other=1" in lines[0]
        assert len(seen) == 503
        assert counter.flush(force=True) == {}
    finally:
        logger.removeHandler(handler)
    assert "end it all" not in stream.getvalue()


def test_cli_verbose_flag_still_caps_libraries(
    monkeypatch: pytest.MonkeyPatch, tmp_path, restore_logging
) -> None:
    """`mentorbot -v` logs our DEBUG lines; the libraries keep their floors."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert main(["-v", "db", "upgrade"]) == 0
    assert logging.getLogger().level == logging.DEBUG
    assert logging.getLogger("slack_bolt").level == logging.ERROR
    assert logging.getLogger("discord").level == logging.WARNING


@pytest.mark.parametrize(
    "hostile",
    [
        "x" * 50_000,
        "(" + "a, " * 20_000,
        "(" * 50_000,
        "a.b" * 20_000,
        "a=b&" * 20_000,
        "{'k': " * 10_000,
    ],
    ids=["alnum", "commas", "parens", "dots", "form", "mapping"],
)
def test_redaction_takes_linear_time_on_large_payloads(hostile: str) -> None:
    """A huge or pathological payload is redacted in milliseconds (no regex backtracking)."""
    import time

    import mentorbot.logs as logs

    started = time.perf_counter()
    logs.redact(hostile)
    assert time.perf_counter() - started < 0.5
    assert len(logs.redact(hostile)) <= logs.MAX_MESSAGE + 10
