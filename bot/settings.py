"""How an operator configures `kebas run`: environment variables, or a `.env` file beside it.

Mistakes here are the operator's, so they become one clear sentence each (`SettingsProblem`),
and the token never appears in any of them.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.followup import QuietHours, quiet_hours

TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
TELEGRAM_API = "https://api.telegram.org/bot"


DEFAULT_ENV_FILE = ".env"
# Never repeated in a message: they may hold a password.
UNSHOWN = {"telegram_bot_token", "kebas_webhook_secret", "kebas_db"}


class SettingsProblem(Exception):
    """The configuration cannot work; the message says which variable and what to do."""


class SettingsFileProblem(SettingsProblem):
    """The settings file named, or the .env that is there, cannot be read: a command that
    only looks for optional settings in it must not go on without them either."""


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
        lowered = value.lower()
        if lowered in {"debug", "info", "warning", "error"}:
            return value.upper()
        return lowered if lowered in {"text", "json"} else value  # shown as written

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


def running_user() -> str:
    """Who this process reads files as (not $USER, which sudo or setpriv may leave as it was)."""
    try:
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        import getpass
        return getpass.getuser()


def cannot_read(what: str, exc: OSError, fix: str) -> str:
    """One line: what cannot be read and why, then what to do (for a permission: as whom)."""
    if isinstance(exc, PermissionError):
        fix = f"let the user {running_user()} read it (and the folders it is in), or {fix}"
    return f"cannot read {what}: {exc.strerror or exc}; {fix}"


def settings_file(env_file: str | Path | None) -> Path | None:
    """The settings file to read: one named (--env-file) must be there and readable; the
    default .env may be absent, but if it is there, it must be readable too. pydantic-settings
    would skip either silently, and run on defaults the operator never chose."""
    path = Path(DEFAULT_ENV_FILE if env_file is None else env_file)
    what = f"the settings file {os.path.abspath(path)}"
    elsewhere = ("name another with --env-file" if env_file is not None
                 else "run kebas from another folder")
    try:
        with path.open("rb") as file:
            if stat.S_ISREG(os.fstat(file.fileno()).st_mode):  # a pipe (<(...)) is read once
                file.read().decode("utf-8")
    except FileNotFoundError as exc:
        if env_file is None:
            return None
        raise SettingsFileProblem(cannot_read(what, exc, "check the path given to --env-file "
                                              "(without it, kebas reads .env if there is one)")
                                  ) from None
    except PermissionError as exc:
        raise SettingsFileProblem(cannot_read(what, exc, elsewhere)) from None
    except OSError as exc:  # e.g. a folder
        raise SettingsFileProblem(cannot_read(what, exc, "make it a file of NAME=value lines, "
                                              f"or {elsewhere}")) from None
    except UnicodeDecodeError:
        raise SettingsFileProblem(f"cannot read {what}: it is not UTF-8 text; save it as UTF-8 "
                                  f"(lines of NAME=value)") from None
    return path


def read_settings(env_file: str | Path | None = None) -> Settings:
    """The settings as they are, for commands that need no token (purge, export, stats).
    `env_file` None: .env in the working folder, if there is one."""
    try:
        return Settings(_env_file=settings_file(env_file))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        name = field.upper() or "a setting"
        message = str(first["msg"]).removeprefix("Value error, ")
        given = "" if field in UNSHOWN else f"; got {first['input']!r}"
        raise SettingsProblem(f"{name} is not valid: {message}{given}") from None


def load_settings(env_file: str | Path | None = None) -> Settings:
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


def check_webhook(settings: Settings, option: str = "--webhook") -> Settings:
    """What webhook mode needs besides the token: a public HTTPS address and a secret.
    `option`: the command's flag that gives the address."""
    if not settings.kebas_webhook_url or not settings.kebas_webhook_url.startswith("https://"):
        raise SettingsProblem(
            f"KEBAS_WEBHOOK_URL (or {option}) must be the public https:// address Telegram "
            "sends updates to, e.g. https://bot.example.org/telegram (Telegram accepts only "
            "HTTPS; the reverse proxy in front of Kebas holds the certificate)")
    if not SECRET_PATTERN.match(settings.webhook_secret):
        raise SettingsProblem(
            "KEBAS_WEBHOOK_SECRET must be set to 16 to 256 letters, digits, _ or - (the same "
            "for every worker), e.g. the output of: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'")
    settings.listen_address()
    return settings
