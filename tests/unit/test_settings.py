"""Settings from BRIDGE_* variables and .env: defaults, parsing, one-line errors, secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bridge.config.environment import ledger_location_from_environment, mappings_dir_from_environment
from bridge.config.profile import load_profile
from bridge.config.settings import Settings, load_settings, shipped_mappings_dir
from bridge.errors import ConfigurationError

SECRET = "Zq-7!very-secret-pw"
REPO_MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("BRIDGE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no real .env is read


def test_defaults() -> None:
    settings = load_settings()
    assert settings.data_dir == Path("data")
    assert settings.ledger_location == "sqlite:///data/ledger.sqlite3"
    assert settings.years == ()
    assert settings.poll_interval == 60.0
    assert settings.log_level == "INFO"
    assert settings.log_format is None
    assert settings.http_max_attempts == 6
    assert settings.retry_after_cap == 120.0
    assert settings.sisumaker_url is None
    assert settings.sisumaker_password is None
    assert settings.push_enabled is True


def test_default_mappings_dir_is_the_shipped_one() -> None:
    settings = load_settings()
    assert settings.mappings_dir == shipped_mappings_dir()
    assert settings.mappings_dir.resolve() == REPO_MAPPINGS
    assert (settings.mappings_dir / "sisumaker.toml").is_file()
    load_profile(settings.mappings_dir)


def test_ledger_follows_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BRIDGE_DATA_DIR", str(tmp_path / "state"))
    expected = f"sqlite:///{(tmp_path / 'state').as_posix()}/ledger.sqlite3"
    assert load_settings().ledger_location == expected
    monkeypatch.setenv("BRIDGE_LEDGER_URL", "postgresql://bridge@127.0.0.1/bridge")
    assert load_settings().ledger_location == "postgresql://bridge@127.0.0.1/bridge"


@pytest.mark.parametrize("value", ["2025,2026", "25, 26", "2026; 2025", "26,2025,25"])
def test_years(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BRIDGE_YEARS", value)
    assert load_settings().years == (2025, 2026)


def test_values_are_read_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_POLL_INTERVAL", "15.5")
    monkeypatch.setenv("BRIDGE_LOG_LEVEL", "debug")
    monkeypatch.setenv("BRIDGE_LOG_FORMAT", "Console")
    monkeypatch.setenv("BRIDGE_SISUMAKER_URL", " https://sisumaker.example/ ")
    monkeypatch.setenv("BRIDGE_PUSH_ENABLED", "false")
    settings = load_settings()
    assert settings.poll_interval == 15.5
    assert settings.log_level == "DEBUG"
    assert settings.log_format == "console"
    assert settings.resolved_log_format == "console"
    assert settings.sisumaker_url == "https://sisumaker.example"
    assert settings.push_enabled is False


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BRIDGE_POLL_INTERVAL", "-1"),
        ("BRIDGE_POLL_INTERVAL", "often"),
        ("BRIDGE_YEARS", "abc"),
        ("BRIDGE_YEARS", "2025,20266"),
        ("BRIDGE_LOG_FORMAT", "xml"),
        ("BRIDGE_LOG_LEVEL", "LOUD"),
        ("BRIDGE_SISUMAKER_URL", "ftp://x"),
        ("BRIDGE_HTTP_MAX_ATTEMPTS", "0"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{variable}: ")
    assert message.count("BRIDGE_") == 1
    assert caught.value.__cause__ is None


def test_two_bad_values_are_both_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_POLL_INTERVAL", "-1")
    monkeypatch.setenv("BRIDGE_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert "BRIDGE_POLL_INTERVAL" in message
    assert "BRIDGE_LOG_LEVEL" in message


def test_password_and_password_file_together_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "pw").write_text("other\n", encoding="utf-8")
    monkeypatch.setenv("BRIDGE_SISUMAKER_PASSWORD", SECRET)
    monkeypatch.setenv("BRIDGE_SISUMAKER_PASSWORD_FILE", str(tmp_path / "pw"))
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "BRIDGE_SISUMAKER_PASSWORD" in message
    assert "BRIDGE_SISUMAKER_PASSWORD_FILE" in message
    assert "\n" not in message
    assert SECRET not in message


@pytest.mark.parametrize(
    "content", ["s3cret-from-file\n", "s3cret-from-file\r\n", "s3cret-from-file"]
)
def test_password_file_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "sisumaker_password"
    path.write_bytes(content.encode("utf-8"))
    monkeypatch.setenv("BRIDGE_SISUMAKER_PASSWORD_FILE", str(path))
    settings = load_settings()
    assert settings.password().get_secret_value() == "s3cret-from-file"


def test_password_from_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_SISUMAKER_PASSWORD", SECRET)
    settings = load_settings()
    assert settings.password().get_secret_value() == SECRET
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)


def test_missing_password_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGE_SISUMAKER_PASSWORD_FILE", str(tmp_path / "absent"))
    settings = load_settings()
    with pytest.raises(ConfigurationError, match="BRIDGE_SISUMAKER_PASSWORD_FILE") as caught:
        settings.password()
    assert "absent" in str(caught.value)


def test_empty_password_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_text("\n", encoding="utf-8")
    monkeypatch.setenv("BRIDGE_SISUMAKER_PASSWORD_FILE", str(path))
    with pytest.raises(ConfigurationError, match="BRIDGE_SISUMAKER_PASSWORD_FILE"):
        load_settings().password()


def test_invalid_password_never_appears_in_the_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(sisumaker_password=987654321)
    message = str(caught.value)
    assert message.startswith("BRIDGE_SISUMAKER_PASSWORD: ")
    assert "987654321" not in message


def test_password_never_appears_beside_another_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_SISUMAKER_PASSWORD", SECRET)
    monkeypatch.setenv("BRIDGE_POLL_INTERVAL", "-1")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_dotenv_in_the_working_directory_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "BRIDGE_POLL_INTERVAL=15\nBRIDGE_YEARS=26\nBRIDGE_SISUMAKER_USERNAME=tu-kominfo\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.poll_interval == 15.0
    assert settings.years == (2026,)
    assert settings.sisumaker_username == "tu-kominfo"
    monkeypatch.setenv("BRIDGE_POLL_INTERVAL", "20")
    assert load_settings().poll_interval == 20.0  # the environment wins over .env


def test_bad_value_in_dotenv_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BRIDGE_LOG_FORMAT=xml\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"^BRIDGE_LOG_FORMAT: "):
        load_settings()


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.poll_interval = 1.0  # type: ignore[misc]
    assert settings.poll_interval == 60.0
    assert isinstance(settings, Settings)


def test_require_sisumaker_names_the_missing_url() -> None:
    with pytest.raises(ConfigurationError, match="BRIDGE_SISUMAKER_URL"):
        load_settings().require_sisumaker()


def test_require_sisumaker_names_the_missing_username(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_SISUMAKER_URL", "https://sisu.test")
    monkeypatch.setenv("BRIDGE_SISUMAKER_PASSWORD", SECRET)
    with pytest.raises(ConfigurationError, match="BRIDGE_SISUMAKER_USERNAME"):
        load_settings().require_sisumaker()


def test_require_sisumaker_names_the_missing_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_SISUMAKER_URL", "https://sisu.test")
    monkeypatch.setenv("BRIDGE_SISUMAKER_USERNAME", "tu-kominfo")
    with pytest.raises(ConfigurationError, match="BRIDGE_SISUMAKER_PASSWORD"):
        load_settings().require_sisumaker()


def test_require_sisumaker_returns_the_triple(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_SISUMAKER_URL", "https://sisu.test/")
    monkeypatch.setenv("BRIDGE_SISUMAKER_USERNAME", "tu-kominfo")
    monkeypatch.setenv("BRIDGE_SISUMAKER_PASSWORD", SECRET)
    url, username, password = load_settings().require_sisumaker()
    assert (url, username) == ("https://sisu.test", "tu-kominfo")
    assert isinstance(password, SecretStr)
    assert password.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("environ", "dotenv"),
    [
        ({}, ""),
        ({"BRIDGE_DATA_DIR": "state"}, ""),
        ({}, "BRIDGE_DATA_DIR=from-dotenv\n"),
        ({"BRIDGE_DATA_DIR": "from-env"}, "BRIDGE_DATA_DIR=from-dotenv\n"),
        ({"bridge_data_dir": "lower-case"}, ""),
        ({}, "bridge_ledger_url=postgresql://bridge@db/bridge\n"),
        ({"BRIDGE_LEDGER_URL": "postgresql://a@h/a"}, "BRIDGE_LEDGER_URL=postgresql://b@h/b\n"),
        ({"BRIDGE_LEDGER_URL": "", "BRIDGE_DATA_DIR": "x"}, ""),
        ({"BRIDGE_MAPPINGS_DIR": "/etc/bridge/mappings"}, ""),
        ({}, 'BRIDGE_MAPPINGS_DIR="/srv/mappings"\nBRIDGE_DATA_DIR=\'/srv/data\'\n'),
    ],
)
def test_ledger_commands_read_the_ledger_and_mappings_as_the_settings_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environ: dict[str, str], dotenv: str
) -> None:
    # `bridge status` and friends skip pydantic-settings (bridge.config.environment); they
    # must find the same ledger and mapping files as every other command.
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    if dotenv:
        (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    settings = load_settings()
    assert ledger_location_from_environment() == settings.ledger_location
    assert mappings_dir_from_environment() == settings.mappings_dir
