"""How an operator configures `kebas run`: environment variables, or a `.env` file beside it.

Mistakes here are the operator's, so they become one clear sentence each (`SettingsProblem`),
and the token never appears in any of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.followup import QuietHours, quiet_hours

TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
TELEGRAM_API = "https://api.telegram.org/bot"


class SettingsProblem(Exception):
    """The configuration cannot work; the message says which variable and what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", case_sensitive=False)

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = TELEGRAM_API
    # a SQLite file, or a postgresql:// address (several webhook workers on several hosts)
    kebas_db: str = "kebas.sqlite3"
    kebas_dialogs: Path | None = None
    kebas_locales: Path | None = None
    kebas_admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Sessions untouched for longer are deleted (UU PDP: keep health data no longer than needed).
    kebas_retention_days: int = Field(default=90, ge=1, le=3650)
    # Messages per second to Telegram, all chats together: Telegram's guidance is about 30.
    kebas_send_rate: float = Field(default=30, gt=0)
    # Webhook mode (docs/deploy.md): the public HTTPS address Telegram posts updates to, the
    # secret it sends with each, where this process listens, and how many worker processes
    # serve the bot together (each sends at KEBAS_SEND_RATE / KEBAS_WORKERS).
    kebas_webhook_url: str | None = None
    kebas_webhook_secret: SecretStr | None = None
    kebas_listen: str = "127.0.0.1:8443"
    kebas_workers: int = Field(default=1, ge=1, le=64)
    # What the log shows and how: text for a person, json (one object a line) for a shipper.
    kebas_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    kebas_log_format: Literal["text", "json"] = "text"
    # Long polling: where /healthz and /metrics are served (HOST:PORT); unset, no port opens.
    # A webhook worker serves them beside its Telegram route instead (KEBAS_LISTEN).
    kebas_health_listen: str | None = None
    # Follow-up check-ins: the runners' time zone (IANA), the hours no check-in is sent in
    # (HH:MM-HH:MM there; empty: none) and how often a worker looks for due ones (seconds).
    kebas_timezone: str = "Asia/Jakarta"
    kebas_quiet_hours: str = "21:00-07:00"
    kebas_followup_poll_seconds: int = Field(default=60, ge=1, le=3600)

    @field_validator("kebas_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        quiet_hours("", value)
        return value

    @field_validator("kebas_quiet_hours")
    @classmethod
    def _hours_readable(cls, value: str) -> str:
        quiet_hours(value, "UTC")
        return value

    def quiet_hours(self) -> QuietHours:
        """KEBAS_QUIET_HOURS in KEBAS_TIMEZONE."""
        return quiet_hours(self.kebas_quiet_hours, self.kebas_timezone)

    @field_validator("kebas_log_level", "kebas_log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if value.lower() in {"debug", "info", "warning", "error"} \
            else value.lower()

    @field_validator("kebas_db", mode="before")
    @classmethod
    def _path_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    @field_validator("kebas_admin_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def token(self) -> str:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else ""

    @property
    def base_file_url(self) -> str:
        base = self.telegram_api_base_url
        return base[:-len("/bot")] + "/file/bot" if base.endswith("/bot") else base

    @property
    def webhook_secret(self) -> str:
        return self.kebas_webhook_secret.get_secret_value() if self.kebas_webhook_secret else ""

    def listen_address(self) -> tuple[str, int]:
        return host_and_port(self.kebas_listen, "KEBAS_LISTEN (or --listen)", "0.0.0.0:8443")

    def health_address(self) -> tuple[str, int] | None:
        """Where long polling serves /healthz and /metrics, if anywhere."""
        if not self.kebas_health_listen:
            return None
        return host_and_port(self.kebas_health_listen, "KEBAS_HEALTH_LISTEN", "127.0.0.1:9464")

    def content_paths(self, defaults: list[Path]) -> list[Path]:
        dialogs, locales = defaults
        return [self.kebas_dialogs or dialogs, self.kebas_locales or locales]


def host_and_port(value: str, name: str, example: str) -> tuple[str, int]:
    """HOST:PORT as (host, port), an IPv6 host's brackets dropped; else what to write."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsProblem(f"{name} must be HOST:PORT, e.g. {example}; got {value!r}")
    return host.strip("[]"), int(port)


def read_settings(env_file: str | Path | None = ".env") -> Settings:
    """The settings as they are, for commands that need no token (purge, export, stats)."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsProblem(f"{name} is not valid: {message}") from None


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """The settings `kebas run` needs: a usable token above all."""
    settings = read_settings(env_file)
    if not settings.token:
        raise SettingsProblem(
            "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram, then "
            "put its token in the environment or in .env (see .env.example).")
    if not TOKEN_PATTERN.match(settings.token):
        raise SettingsProblem(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then at "
            "least 30 letters, digits, - or _). Copy it again from @BotFather.")
    if not settings.telegram_api_base_url.startswith(("http://", "https://")):
        raise SettingsProblem("TELEGRAM_API_BASE_URL must start with http:// or https://")
    return settings


SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


def check_webhook(settings: Settings) -> Settings:
    """What webhook mode needs besides the token: a public HTTPS address and a secret."""
    if not settings.kebas_webhook_url or not settings.kebas_webhook_url.startswith("https://"):
        raise SettingsProblem(
            "KEBAS_WEBHOOK_URL (or --webhook) must be the public https:// address Telegram "
            "sends updates to, e.g. https://bot.example.org/telegram (Telegram accepts only "
            "HTTPS; the reverse proxy in front of Kebas holds the certificate)")
    if not SECRET_PATTERN.match(settings.webhook_secret):
        raise SettingsProblem(
            "KEBAS_WEBHOOK_SECRET must be set to 16 to 256 letters, digits, _ or - (the same "
            "for every worker), e.g. the output of: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'")
    settings.listen_address()
    return settings
