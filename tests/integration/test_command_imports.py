"""Each command imports only what it uses: the import discipline behind a fast start-up.

Every command runs as a real process through a probe that, once the command is done, reports
which modules were imported. The read-only commands must not import the Sisumaker client,
the settings machinery, structlog or the holidays tables; ``sync`` is the control that shows
the probe sees those imports when they happen. How long each command takes is printed by
bench/startup.py, not tested here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.simulator import SimServer, SimState, generate
from tests.integration.conftest import bridge_env

pytestmark = pytest.mark.integration

# Runs one command in this process, then prints the exit status and sys.modules on stderr.
PROBE = """\
import json, sys
from bridge.entrypoints.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
print("PROBE " + json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""

# What the commands that only read the ledger have no use for.
HEAVY = frozenset({"httpx", "tenacity", "jwt", "pydantic", "pydantic_settings", "holidays",
                   "prometheus_client", "psycopg", "structlog", "tqdm"})


@dataclass
class Probed:
    """What one command printed, its exit status and the top-level packages it imported."""

    stdout: str
    exit: int
    packages: frozenset[str]


@dataclass
class Synced:
    """A ledger after one real sync against the simulator, pushes on."""

    env: dict[str, str]
    cwd: Path
    sync: Probed
    letters: int
    synced_before: datetime
    synced_after: datetime

    def run(self, *args: str) -> Probed:
        return probe(list(args), self.env, self.cwd)


def probe(args: list[str], env: dict[str, str], cwd: Path) -> Probed:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)
    lines = [line for line in done.stderr.splitlines() if line.startswith("PROBE ")]
    assert lines, done.stderr
    report: dict[str, Any] = json.loads(lines[-1].removeprefix("PROBE "))
    packages = frozenset(name.split(".", 1)[0] for name in report["modules"])
    return Probed(done.stdout, int(report["exit"] or 0), packages)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    state = SimState()
    summary = generate(state, letters=120, seed=12)
    cwd = tmp_path_factory.mktemp("imports")
    with SimServer(state) as sim:
        env = bridge_env(sim, cwd / "data")
        before = datetime.now(UTC)
        sync = probe(["sync", "--once"], env, cwd)
        after = datetime.now(UTC)
        assert sync.exit == 0
        # The ledger-only commands are run with no Sisumaker setting at all.
        reading = {k: v for k, v in env.items() if not k.startswith("BRIDGE_SISUMAKER")}
        yield Synced(reading, cwd, sync, summary.letters, before, after)


def test_the_probe_sees_what_sync_imports(synced: Synced) -> None:
    assert {"httpx", "tenacity", "pydantic", "pydantic_settings", "structlog",
            "holidays"} <= synced.sync.packages


def test_help_imports_nothing_heavy(synced: Synced) -> None:
    done = synced.run("--help")
    assert done.exit == 0
    assert "status" in done.stdout and "cases" in done.stdout
    assert done.packages & HEAVY == set()
    assert "bridge" in done.packages


@pytest.mark.parametrize("args", [["status", "--json"], ["status"], ["cases"],
                                  ["cases", "--json"], ["outbox"], ["outbox", "--json"],
                                  ["quarantine"], ["ledger", "export"]])
def test_ledger_only_commands_import_nothing_heavy(synced: Synced, args: list[str]) -> None:
    done = synced.run(*args)
    assert done.exit == 0
    assert done.packages & HEAVY == set()
    assert "sqlite3" in done.packages  # it did read the ledger


def test_status_json_reads_the_ledger_without_the_settings(synced: Synced) -> None:
    done = synced.run("status", "--json")
    report = json.loads(done.stdout)
    assert report["items"]["surat"] == synced.letters
    assert report["ledger"] == f"sqlite:///{synced.env['BRIDGE_DATA_DIR']}/ledger.sqlite3"
    assert (synced.synced_before <= datetime.fromisoformat(report["last_complete_pass_at"])
            <= synced.synced_after)


def test_outbox_lists_what_sync_queued(synced: Synced) -> None:
    lines = [json.loads(line) for line in synced.run("outbox", "--json").stdout.splitlines()]
    assert lines
    assert {line["state"] for line in lines} <= {"pending", "in_doubt", "sent", "failed"}


def test_case_imports_the_sop_mapping_only(synced: Synced) -> None:
    first = json.loads(synced.run("cases", "--json").stdout.splitlines()[0])
    text = synced.run("case", first["case_id"])
    assert text.exit == 0
    assert f"case {first['case_id']}" in text.stdout
    assert "step  name" in text.stdout
    # The step names come from sop.toml, validated with pydantic; nothing else heavy.
    assert text.packages & HEAVY == {"pydantic"}
    as_json = synced.run("case", first["case_id"], "--json")
    assert json.loads(as_json.stdout)["case_id"] == first["case_id"]
    assert as_json.packages & HEAVY == set()
