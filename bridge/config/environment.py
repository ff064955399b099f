"""Reading a few BRIDGE_* variables without building the whole settings.

The commands that only read the ledger (``status``, ``cases``, ``case``, ``outbox``,
``quarantine``) need two settings, BRIDGE_LEDGER_URL and BRIDGE_DATA_DIR (and ``case``,
BRIDGE_MAPPINGS_DIR for the names of the SOP steps). Validating every setting takes
pydantic and pydantic-settings, about 0.25 s of a 0.3 s budget for ``bridge status`` on the
2-core machine, so these commands read just those variables here, the way
``bridge.config.settings.Settings`` reads them (the environment over a ``.env`` file in the
working directory, names in any case); a unit test holds the readings equal. A mistake in
another setting is reported by the commands that use it.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_PREFIX = "BRIDGE_"
ENV_FILE = ".env"
DEFAULT_DATA_DIR = Path("data")


def shipped_mappings_dir() -> Path:
    """The mappings/ shipped with the bridge (in the wheel, or beside the source tree)."""
    package_dir = Path(__file__).resolve().parent.parent
    bundled = package_dir / "_mappings"
    if bundled.is_dir():
        return bundled
    return package_dir.parent / "mappings"


def ledger_location(ledger_url: str | None, data_dir: Path) -> str:
    """The ledger URL; by default an SQLite file under the data directory."""
    if ledger_url:
        return ledger_url
    return f"sqlite:///{(data_dir / 'ledger.sqlite3').as_posix()}"


def read_variables(*names: str, env_file: str | Path = ENV_FILE) -> dict[str, str]:
    """The named settings (``"ledger_url"`` for BRIDGE_LEDGER_URL) that are set, by lower-case name.

    As pydantic-settings does: a variable of the environment wins over the ``.env`` file, and a
    name matches in any case.
    """
    wanted = {ENV_PREFIX.lower() + name.lower(): name.lower() for name in names}
    found: dict[str, str] = {}
    if Path(env_file).is_file():
        from dotenv import dotenv_values  # noqa: PLC0415 - only when there is a .env

        for key, value in dotenv_values(env_file, encoding="utf-8").items():
            if key.lower() in wanted and value is not None:
                found[wanted[key.lower()]] = value
    for key, value in os.environ.items():
        if key.lower() in wanted:
            found[wanted[key.lower()]] = value
    return found


def ledger_location_from_environment() -> str:
    """The ledger URL from BRIDGE_LEDGER_URL, else BRIDGE_DATA_DIR, as the settings give it."""
    values = read_variables("ledger_url", "data_dir")
    data_dir = values.get("data_dir")
    return ledger_location(values.get("ledger_url"),
                           DEFAULT_DATA_DIR if data_dir is None else Path(data_dir))


def mappings_dir_from_environment() -> Path:
    """The mapping files' directory from BRIDGE_MAPPINGS_DIR, as the settings give it."""
    value = read_variables("mappings_dir").get("mappings_dir")
    return shipped_mappings_dir() if value is None else Path(value)


def redacted_url(url: str) -> str:
    """A database URL fit for logs: ``postgresql://user:***@host/db``."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
