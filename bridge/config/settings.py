"""Settings from the environment (BRIDGE_*) and an optional .env file; immutable once built."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bridge.config.environment import DEFAULT_DATA_DIR, ENV_FILE, ENV_PREFIX, shipped_mappings_dir
from bridge.config.environment import ledger_location as _ledger_location
from bridge.errors import ConfigurationError

_SECRET_FIELDS = frozenset({"sisumaker_password", "board_token"})
# A board token is the only thing between the network and the case list: long enough that
# guessing it over HTTP is hopeless.
BOARD_TOKEN_MIN_CHARS = 16


class Settings(BaseSettings):
    """Everything an operator sets; see README.md for each variable."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    sisumaker_url: str | None = None
    sisumaker_username: str | None = None
    sisumaker_password: SecretStr | None = None
    sisumaker_password_file: Path | None = None
    years: Annotated[tuple[int, ...], NoDecode] = ()
    data_dir: Path = DEFAULT_DATA_DIR
    ledger_url: str | None = None
    mappings_dir: Path = Field(default_factory=shipped_mappings_dir)
    poll_interval: float = Field(60.0, gt=0, le=86400)
    # Sisumaker stamps an item when it is inserted, so an item shows up below newer ones only
    # for as long as a transaction or a clock skew lasts; the daily full pass finds any later.
    lookback_seconds: float = Field(600.0, ge=0, le=90 * 86400)
    full_sync_hour: int | None = Field(2, ge=0, le=23)
    previous_year_weeks: int = Field(6, ge=0, le=52)
    log_format: Literal["json", "console"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    http_timeout: float = Field(30.0, gt=0, le=600)
    http_max_attempts: int = Field(6, ge=1, le=20)
    retry_after_cap: float = Field(120.0, ge=0, le=3600)
    token_refresh_margin: float = Field(300.0, ge=0)
    max_pages: int = Field(10000, ge=1)
    push_enabled: bool = True
    push_resend_after: float | None = Field(None, ge=0)
    leader_ttl: float = Field(30.0, ge=3, le=3600)
    metrics_port: int = Field(9108, ge=0, le=65535)
    metrics_host: str = "0.0.0.0"  # noqa: S104 - container probes come from outside
    ready_max_age: float | None = Field(None, gt=0)
    # The case board on the metrics port: off unless a token is set.
    board_token: SecretStr | None = None
    board_secure_cookie: bool = False

    @field_validator("years", mode="before")
    @classmethod
    def _parse_years(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
            years = []
            for part in parts:
                if not part.isdigit() or len(part) not in (2, 4):
                    raise ValueError(f"{part!r} is not a year; give e.g. '2025,2026' or '25,26'")
                year = int(part)
                years.append(year + 2000 if year < 100 else year)
            return tuple(sorted(set(years)))
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.lower() or None
        return value

    @field_validator("sisumaker_url")
    @classmethod
    def _url_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("board_token")
    @classmethod
    def _board_token_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value()) < BOARD_TOKEN_MIN_CHARS:
            raise ValueError(f"must be at least {BOARD_TOKEN_MIN_CHARS} characters (e.g. the "
                             "output of `openssl rand -hex 24`); leave it unset to turn the "
                             "board off")
        return value

    @model_validator(mode="after")
    def _one_password_source(self) -> Settings:
        if self.sisumaker_password is not None and self.sisumaker_password_file is not None:
            raise ValueError(
                "set BRIDGE_SISUMAKER_PASSWORD or BRIDGE_SISUMAKER_PASSWORD_FILE, not both"
            )
        return self

    @property
    def ledger_location(self) -> str:
        """The ledger URL; by default an SQLite file under the data directory."""
        return _ledger_location(self.ledger_url, self.data_dir)

    @property
    def resolved_log_format(self) -> Literal["json", "console"]:
        """JSON unless asked otherwise or stdout is a terminal."""
        if self.log_format is not None:
            return self.log_format
        return "console" if sys.stdout.isatty() else "json"

    @property
    def readiness_max_age(self) -> float:
        """How old the last complete pass may be for /readyz (default 3 poll intervals + 2 min)."""
        return self.ready_max_age or 3 * self.poll_interval + 120

    def password(self) -> SecretStr:
        """The Sisumaker password, from the variable or the secret file."""
        if self.sisumaker_password is not None:
            return self.sisumaker_password
        if self.sisumaker_password_file is None:
            raise ConfigurationError(
                "BRIDGE_SISUMAKER_PASSWORD is not set (or BRIDGE_SISUMAKER_PASSWORD_FILE)"
            )
        try:
            text = self.sisumaker_password_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"BRIDGE_SISUMAKER_PASSWORD_FILE: cannot read {self.sisumaker_password_file}: "
                f"{exc.strerror}"
            ) from None
        secret = text.rstrip("\r\n")
        if not secret:
            raise ConfigurationError(
                f"BRIDGE_SISUMAKER_PASSWORD_FILE: {self.sisumaker_password_file} is empty"
            )
        return SecretStr(secret)

    def require_sisumaker(self) -> tuple[str, str, SecretStr]:
        """URL, username and password, or a ConfigurationError naming what is missing."""
        if not self.sisumaker_url:
            raise ConfigurationError("BRIDGE_SISUMAKER_URL is not set (e.g. https://sisumaker.tangerangselatankota.go.id)")
        if not self.sisumaker_username:
            raise ConfigurationError("BRIDGE_SISUMAKER_USERNAME is not set")
        return self.sisumaker_url, self.sisumaker_username, self.password()


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning any validation error into one line naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_settings_error(exc)) from None


def describe_settings_error(exc: ValidationError) -> str:
    """Name each bad variable and say what is wrong, never echoing a secret."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"] if part != "__root__"]
        name = f"{ENV_PREFIX}{loc[0].upper()}" if loc else "settings"
        message = err["msg"].removeprefix("Value error, ")
        if loc and loc[0] in _SECRET_FIELDS:
            parts.append(f"{name}: {message}")
        elif loc and "input" in err and not isinstance(err["input"], dict):
            parts.append(f"{name}: {message} (got {str(err['input'])[:80]!r})")
        else:
            parts.append(f"{name}: {message}" if loc else message)
    return "; ".join(parts)
