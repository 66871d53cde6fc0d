"""Settings from the environment and `.env` (pydantic-settings), split by concern.

Every setting is documented in `.env.example`. The core receives plain `CoreSettings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config import CoreSettings, EscalationRules, SchedulingRules
from bot.crisis_lines import crisis_lines_with, read_crisis_lines
from bot.localtime import is_valid_zone
from bot.pacing import PlatformLimits, RateLimit
from storage.crypto import BadKey, check_keys, split_keys

ENV_FILE = ".env"


class _Base(BaseSettings):
    model_config = SettingsConfigDict(env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore")


class DatabaseSettings(_Base):
    """Where data lives."""

    database_url: str = Field(default="sqlite:///data/mentorbot.db", alias="DATABASE_URL")


class ProgrammeSettings(_Base):
    """Programme policies: time zone, escalation rules, safety, retention."""

    default_timezone: str = Field(default="UTC", alias="DEFAULT_TIMEZONE")
    default_country: str = Field(default="INTL", alias="DEFAULT_COUNTRY")
    default_language: str = Field(default="en", alias="DEFAULT_LANGUAGE")
    low_mood_threshold: int = Field(default=2, ge=1, le=5, alias="ESCALATE_MOOD_AT_OR_BELOW")
    drop_points: float = Field(default=2.0, gt=0, alias="ESCALATE_DROP_POINTS")
    drop_window_days: int = Field(default=14, ge=1, alias="ESCALATE_DROP_WINDOW_DAYS")
    missed_checkins: int = Field(default=3, ge=1, alias="ESCALATE_MISSED_CHECKINS")
    missed_meetings: int = Field(default=2, ge=1, alias="ESCALATE_MISSED_MEETINGS")
    help_requests: bool = Field(default=True, alias="ESCALATE_HELP_REQUESTS")
    crisis_ack_minutes: int = Field(default=10, ge=1, alias="CRISIS_ACK_MINUTES")
    alert_ack_minutes: int = Field(default=1440, ge=1, alias="ALERT_ACK_MINUTES")
    staff_channel: str | None = Field(default=None, alias="STAFF_CHANNEL")
    follow_up_reminder_hours: int = Field(default=24, ge=1, alias="FOLLOW_UP_REMINDER_HOURS")
    tell_student_when_seen: bool = Field(default=True, alias="TELL_STUDENT_WHEN_SEEN")
    retention_days: int = Field(default=365, ge=1, alias="RETENTION_DAYS")
    min_group_size: int = Field(default=5, ge=2, alias="MIN_GROUP_SIZE")
    pairing_max_hours_apart: int = Field(default=5, ge=0, le=26, alias="PAIRING_MAX_HOURS_APART")
    digest_day: str = Field(default="mon", alias="DIGEST_DAY")
    digest_time: str = Field(default="08:00", alias="DIGEST_TIME")
    # Comma-separated YAML files of extra safety rules, screened on top of the built-in ones.
    safety_extra_rules: str = Field(default="", alias="SAFETY_EXTRA_RULES")
    # A YAML file of crisis lines in the format of bot/crisis_lines.yaml: its
    # countries replace (or add to) the shipped ones. Checked at start like the shipped file.
    crisis_lines_file: str = Field(default="", alias="CRISIS_LINES_FILE")

    @property
    def safety_rule_files(self) -> list[str]:
        """The extra safety rule files, in order."""
        return [p.strip() for p in self.safety_extra_rules.split(",") if p.strip()]

    @property
    def crisis_lines_path(self) -> Path | None:
        """The operator's crisis lines file, if one is set."""
        return Path(self.crisis_lines_file) if self.crisis_lines_file else None

    @field_validator("crisis_lines_file")
    @classmethod
    def _usable_crisis_lines(cls, value: str) -> str:
        # A file without an emergency number or a source must stop the start, not a card.
        path = value.strip()
        if path:
            read_crisis_lines(Path(path))
        return path

    @field_validator("default_language")
    @classmethod
    def _spoken_language(cls, value: str) -> str:
        # A typo here would quietly speak English to everyone: refuse it at start instead.
        from bot.i18n import LANGUAGES, PSEUDO_LANGUAGE, normalise_language

        chosen = normalise_language(value)
        if chosen is None or chosen == PSEUDO_LANGUAGE:
            raise ValueError(
                f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, got {value!r}"
            )
        return chosen

    @field_validator("default_country")
    @classmethod
    def _country_code(cls, value: str) -> str:
        code = value.strip().upper()
        if code != "INTL" and not (len(code) == 2 and code.isascii() and code.isalpha()):
            raise ValueError(f"DEFAULT_COUNTRY must be a two-letter code or INTL, got {value!r}")
        return code

    @field_validator("digest_day")
    @classmethod
    def _digest_day(cls, value: str) -> str:
        day = value.strip().lower()[:3]
        if day not in ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "off"):
            raise ValueError("DIGEST_DAY must be mon, tue, wed, thu, fri, sat, sun or off")
        return day

    @field_validator("digest_time")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        from bot.args import parse_time
        from bot.errors import UserError

        try:
            return parse_time(value).strftime("%H:%M")
        except UserError as exc:
            raise ValueError(f"DIGEST_TIME must be HH:MM, got {value!r}") from exc

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_valid_zone(value):
            raise ValueError(f"unknown time zone {value!r}")
        return value

    @field_validator("staff_channel")
    @classmethod
    def _platform_channel(cls, value: str | None) -> str | None:
        if value and ":" not in value:
            raise ValueError("STAFF_CHANNEL must look like 'slack:C0123' or 'discord:1234'")
        return value or None


class ObservabilitySettings(_Base):
    """Logging, and the health and metrics endpoint of `mentorbot run`."""

    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    log_format: str = Field(default="text", alias="LOG_FORMAT")
    health_host: str = Field(default="127.0.0.1", alias="HEALTH_HOST")
    # 0 turns the endpoint off (the console demo never opens it).
    health_port: int = Field(default=8080, ge=0, le=65535, alias="HEALTH_PORT")
    # The delivery loop counts as stuck when its last pass ended longer ago than this.
    health_max_delivery_lag_seconds: float = Field(
        default=120.0, gt=0, alias="HEALTH_MAX_DELIVERY_LAG_SECONDS"
    )

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("log_format")
    @classmethod
    def _format(cls, value: str) -> str:
        fmt = value.strip().lower()
        if fmt not in ("text", "json"):
            raise ValueError("LOG_FORMAT must be text or json")
        return fmt


class SlackSettings(_Base):
    """Slack: tokens, mode and (for tests) the API base URL."""

    bot_token: str | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    app_token: str | None = Field(default=None, alias="SLACK_APP_TOKEN")
    signing_secret: str | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    mode: str = Field(default="socket", alias="SLACK_MODE")
    http_host: str = Field(default="127.0.0.1", alias="SLACK_HTTP_HOST")
    http_port: int = Field(default=3000, alias="SLACK_HTTP_PORT")
    api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    # HTTP mode: processes answering Slack's requests on the same port (one per core helps
    # a 09:00 burst; delivery and scheduling stay in the main process either way).
    http_workers: int = Field(default=1, ge=1, le=64, alias="SLACK_HTTP_WORKERS")
    # HTTP mode: bodies over this many bytes are refused (413) before they are read.
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=16 * 1024, le=64 * 1024 * 1024, alias="SLACK_MAX_BODY_BYTES"
    )

    @property
    def enabled(self) -> bool:
        """True when a bot token is configured."""
        return bool(self.bot_token)


class DiscordSettings(_Base):
    """Discord: token, guilds and (for tests) the API and gateway URLs."""

    bot_token: str | None = Field(default=None, alias="DISCORD_BOT_TOKEN")
    guild_ids: str = Field(default="", alias="DISCORD_GUILD_IDS")
    api_url: str = Field(default="https://discord.com/api/v10", alias="DISCORD_API_URL")
    gateway_url: str = Field(default="wss://gateway.discord.gg/", alias="DISCORD_GATEWAY_URL")
    staff_channel_id: str | None = Field(default=None, alias="DISCORD_STAFF_CHANNEL_ID")
    application_id: str | None = Field(default=None, alias="DISCORD_APPLICATION_ID")

    @property
    def enabled(self) -> bool:
        """True when a bot token is configured."""
        return bool(self.bot_token)

    @property
    def guilds(self) -> list[int]:
        """Guild ids to sync commands to (empty: global)."""
        return [int(g) for g in self.guild_ids.replace(" ", "").split(",") if g]

    @property
    def staff_channel(self) -> str | None:
        """The staff channel as the core names it ("discord:<id>"), if one is set."""
        return f"discord:{self.staff_channel_id}" if self.staff_channel_id else None


class DeliverySettings(_Base):
    """Outbox delivery."""

    lease_seconds: int = Field(default=60, ge=5, alias="OUTBOX_LEASE_SECONDS")
    max_attempts: int = Field(default=8, ge=1, alias="OUTBOX_MAX_ATTEMPTS")
    backoff_seconds: float = Field(default=2.0, gt=0, alias="OUTBOX_BACKOFF_SECONDS")


class AlertingSettings(_Base):
    """Channels for urgent alerts that do not depend on chat: email, a paging webhook."""

    urgent_delivery_deadline: int = Field(default=120, ge=10, alias="URGENT_DELIVERY_DEADLINE")
    smtp_host: str | None = Field(default=None, alias="SMTP_HOST")
    smtp_port: int = Field(default=587, ge=1, le=65535, alias="SMTP_PORT")
    smtp_username: str | None = Field(default=None, alias="SMTP_USERNAME")
    smtp_password: str | None = Field(default=None, alias="SMTP_PASSWORD", repr=False)
    smtp_from: str | None = Field(default=None, alias="SMTP_FROM")
    smtp_starttls: bool = Field(default=True, alias="SMTP_STARTTLS")
    smtp_timeout: float = Field(default=20.0, gt=0, alias="SMTP_TIMEOUT")
    webhook_url: str | None = Field(default=None, alias="ALERT_WEBHOOK_URL")
    webhook_secret: str | None = Field(default=None, alias="ALERT_WEBHOOK_SECRET", repr=False)

    @property
    def email_enabled(self) -> bool:
        """True when an SMTP server and a sender are configured."""
        return bool(self.smtp_host and self.smtp_from)

    @property
    def webhook_enabled(self) -> bool:
        """True when a webhook URL and its signing secret are configured."""
        return bool(self.webhook_url and self.webhook_secret)

    @model_validator(mode="after")
    def _complete(self) -> AlertingSettings:
        # Half a configuration would silently send nothing: refuse to start instead.
        if self.smtp_host and not self.smtp_from:
            raise ValueError("SMTP_FROM is required with SMTP_HOST")
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("ALERT_WEBHOOK_SECRET is required with ALERT_WEBHOOK_URL")
        return self


class SchedulingSettings(_Base):
    """Scheduled check-ins, reminders and nudges: catch-up, cut-off, goal nudges."""

    catchup_grace_minutes: int = Field(default=120, ge=0, alias="CATCHUP_GRACE_MINUTES")
    catchup_max_days: int = Field(default=7, ge=1, le=366, alias="CATCHUP_MAX_DAYS")
    checkin_cutoff_hours: int = Field(default=24, ge=1, alias="CHECKIN_CUTOFF_HOURS")
    checkin_window_hours: int = Field(default=3, ge=0, le=23, alias="CHECKIN_WINDOW_HOURS")
    goal_nudge_days: int = Field(default=7, ge=1, alias="GOAL_NUDGE_DAYS")
    goal_due_soon_days: int = Field(default=2, ge=0, alias="GOAL_DUE_SOON_DAYS")
    goal_stuck_weeks: int = Field(default=3, ge=1, alias="GOAL_STUCK_WEEKS")
    default_nudge_time: str = Field(default="09:00", alias="GOAL_NUDGE_TIME")

    @field_validator("default_nudge_time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        from bot.errors import UserError
        from bot.services.schedules import parse_local_time

        try:
            parse_local_time(value)
        except UserError as exc:
            raise ValueError(exc.message) from exc
        return value


class PacingSettings(_Base):
    """Outbound pacing per platform (messages per second), to stay under the rate limits.

    A bucket of rate r and burst b admits b + r*T messages in any T seconds; the defaults keep
    that under each platform's documented window (see .env.example).
    """

    slack_per_channel: float = Field(default=1.0, gt=0, alias="SLACK_RATE_PER_CHANNEL")
    slack_burst_per_channel: int = Field(default=1, ge=1, alias="SLACK_BURST_PER_CHANNEL")
    slack_workspace: float = Field(default=5.0, gt=0, alias="SLACK_RATE_WORKSPACE")
    discord_global: float = Field(default=45.0, gt=0, alias="DISCORD_RATE_GLOBAL")
    discord_per_channel: float = Field(default=0.8, gt=0, alias="DISCORD_RATE_PER_CHANNEL")
    discord_burst_per_channel: int = Field(default=1, ge=1, alias="DISCORD_BURST_PER_CHANNEL")

    def limits(self) -> dict[str, PlatformLimits]:
        """The core's view: an overall and a per-channel bucket per platform."""
        # Overall bursts are a tenth of a second's worth: smooth, and burst + rate stays
        # under the platform's per-second window.
        return {
            "slack": PlatformLimits(
                overall=RateLimit(self.slack_workspace, max(1.0, self.slack_workspace / 10)),
                per_channel=RateLimit(self.slack_per_channel, self.slack_burst_per_channel),
            ),
            "discord": PlatformLimits(
                overall=RateLimit(self.discord_global, max(1.0, self.discord_global / 10)),
                per_channel=RateLimit(self.discord_per_channel, self.discord_burst_per_channel),
                # Opening a DM is a REST request of its own and counts against the global limit.
                dm_open_cost=1,
            ),
        }


class PrivacySettings(_Base):
    """Encryption at rest of free text (see storage/crypto.py)."""

    # Comma-separated Fernet keys; the first seals new values, all of them open old ones.
    encryption_keys: str = Field(default="", alias="ENCRYPTION_KEYS", repr=False)
    # With no ENCRYPTION_KEYS, a key is created once in this file (demo and development).
    # Empty: $XDG_CONFIG_HOME/mentorbot/secret.key, outside the data folder (storage/crypto.py).
    encryption_key_file: str = Field(default="", alias="ENCRYPTION_KEY_FILE")

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: str) -> str:
        try:
            check_keys(split_keys(value))
        except BadKey as exc:
            raise ValueError(str(exc)) from exc
        return value

    @property
    def keys(self) -> list[str]:
        """The configured keys in order (empty: use the key file)."""
        return split_keys(self.encryption_keys)


class ClusterError(Exception):
    """The settings ask for several instances on a database that serves only one."""


class ClusterSettings(_Base):
    """Several instances of the bot on one PostgreSQL database (see docs/deploy.md)."""

    # True declares that more than one instance runs against DATABASE_URL (on one machine or
    # several). It needs PostgreSQL: the bot refuses to start with it on SQLite.
    cluster: bool = Field(default=False, alias="CLUSTER")
    # How often a standby asks for the owner lease and the owner checks it still holds it.
    lease_check_seconds: float = Field(default=3.0, gt=0, le=10, alias="LEASE_CHECK_SECONDS")
    # Who keeps the platforms' budgets: `owner` (the lease's owner does all sending, one
    # in-process pacer) or `postgres` (every instance delivers, pacing through a token bucket
    # shared in PostgreSQL: storage/budget.py). See docs/architecture.md for the comparison.
    pacing_budget: Literal["owner", "postgres"] = Field(default="owner", alias="PACING_BUDGET")


def cluster_problem(cluster: ClusterSettings, database_url: str) -> str | None:
    """Why these settings cannot run as declared (CLUSTER or a shared budget on SQLite)."""
    if cluster.cluster and not database_url.startswith("postgresql"):
        return (
            "CLUSTER=true says several instances share this database, but DATABASE_URL is "
            "SQLite, which serves one instance on one machine (each would send every check-in "
            "and own the Discord gateway). Set DATABASE_URL to PostgreSQL "
            "(postgresql+psycopg://user:password@host:5432/mentorbot) for several instances, "
            "or CLUSTER=false for one."
        )
    if cluster.pacing_budget == "postgres" and not database_url.startswith("postgresql"):
        return (
            "PACING_BUDGET=postgres shares the platforms' budgets between instances through "
            "PostgreSQL, but DATABASE_URL is SQLite. Set PACING_BUDGET=owner (the default) "
            "for one instance, or DATABASE_URL to PostgreSQL."
        )
    return None


class Settings:
    """All settings, one object per concern."""

    def __init__(self, env_file: str | Path | None = ENV_FILE) -> None:
        self.database = DatabaseSettings(_env_file=env_file)
        self.programme = ProgrammeSettings(_env_file=env_file)
        self.slack = SlackSettings(_env_file=env_file)
        self.discord = DiscordSettings(_env_file=env_file)
        self.delivery = DeliverySettings(_env_file=env_file)
        self.scheduling = SchedulingSettings(_env_file=env_file)
        self.pacing = PacingSettings(_env_file=env_file)
        self.privacy = PrivacySettings(_env_file=env_file)
        self.alerting = AlertingSettings(_env_file=env_file)
        self.observability = ObservabilitySettings(_env_file=env_file)
        self.cluster = ClusterSettings(_env_file=env_file)

    def core(self) -> CoreSettings:
        """The core's view of the settings."""
        p = self.programme
        return CoreSettings(
            escalation=EscalationRules(
                low_mood_threshold=p.low_mood_threshold,
                drop_points=p.drop_points,
                drop_window_days=p.drop_window_days,
                missed_checkins=p.missed_checkins,
                missed_meetings=p.missed_meetings,
                help_requests=p.help_requests,
            ),
            scheduling=SchedulingRules(
                catchup_grace_minutes=self.scheduling.catchup_grace_minutes,
                catchup_max_days=self.scheduling.catchup_max_days,
                checkin_cutoff_hours=self.scheduling.checkin_cutoff_hours,
                checkin_window_hours=self.scheduling.checkin_window_hours,
                goal_nudge_days=self.scheduling.goal_nudge_days,
                goal_due_soon_days=self.scheduling.goal_due_soon_days,
                goal_stuck_weeks=self.scheduling.goal_stuck_weeks,
                default_nudge_time=self.scheduling.default_nudge_time,
            ),
            default_timezone=p.default_timezone,
            default_country=p.default_country,
            default_language=p.default_language,
            crisis_lines=crisis_lines_with(p.crisis_lines_path),
            crisis_ack_minutes=p.crisis_ack_minutes,
            alert_ack_minutes=p.alert_ack_minutes,
            # STAFF_CHANNEL wins; DISCORD_STAFF_CHANNEL_ID is the Discord-only way to set it.
            staff_channel=p.staff_channel or self.discord.staff_channel,
            follow_up_reminder_hours=p.follow_up_reminder_hours,
            tell_student_when_seen=p.tell_student_when_seen,
            retention_days=p.retention_days,
            min_group_size=p.min_group_size,
            pairing_max_hours_apart=p.pairing_max_hours_apart,
            digest_day=p.digest_day,
            digest_time=p.digest_time,
            urgent_delivery_deadline_seconds=self.alerting.urgent_delivery_deadline,
            outbox_lease_seconds=self.delivery.lease_seconds,
            outbox_max_attempts=self.delivery.max_attempts,
            outbox_backoff_seconds=self.delivery.backoff_seconds,
        )
