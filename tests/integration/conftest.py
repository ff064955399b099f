"""Fixtures for tests over real HTTP against the simulated Sisumaker on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.simulator import SimServer, SimState
from bridge.simulator.state import DEFAULT_PASSWORD, DEFAULT_USERNAME

ROOT = Path(__file__).resolve().parents[2]
BRIDGE = [sys.executable, "-m", "bridge"]
MAPPINGS = ROOT / "mappings"
SHAPES = ("contract", "alt")
"""The simulator's deployment shapes; a test taking ``shape`` runs against one of them."""
# The list endpoints of each shape, as the simulator counts requests (letters, dispositions).
LIST_ENDPOINTS = {
    "contract": ("GET {dir}/api/suratmasuk/filter", "GET {dir}/api/disposisi/filter"),
    "alt": ("GET {dir}/api/suratmasuk/filter", "GET {dir}/api/disposisi/filter"),
}
# The prefixes of each shape's POSTs that create notes and drafts (not the login).
PUSH_PREFIX = {"contract": ("POST {dir}/api/surat",), "alt": ("POST {dir}/api/surat",)}


def mappings_for(shape: str, where: Path) -> Path:
    """The mapping files for a shape: the shipped ones, with the shape's own API profile.

    As an operator adapts the bridge: a copy of mappings/ whose sisumaker.toml is replaced.
    """
    if shape == "contract":
        return MAPPINGS
    target = where / f"mappings-{shape}"
    if not target.exists():
        shutil.copytree(MAPPINGS, target, ignore=shutil.ignore_patterns("profiles"))
        shutil.copyfile(MAPPINGS / "profiles" / shape / "sisumaker.toml",
                        target / "sisumaker.toml")
    return target


@pytest.fixture
def shape() -> str:
    """The deployment shape the simulator serves (parametrize ``shape`` to change it)."""
    return "contract"


@pytest.fixture
def sim_state() -> SimState:
    """An empty simulated Sisumaker holding this year and the last."""
    return SimState()


@pytest.fixture
def sim(sim_state: SimState, shape: str) -> Iterator[SimServer]:
    """The simulator serving on a free loopback port, in the test's deployment shape."""
    with SimServer(sim_state, shape=shape) as server:
        yield server


def bridge_env(sim: SimServer, data_dir: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a bridge process: only BRIDGE_* settings we choose."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BRIDGE_")}
    env.update(
        BRIDGE_SISUMAKER_URL=sim.url,
        BRIDGE_SISUMAKER_USERNAME=DEFAULT_USERNAME,
        BRIDGE_SISUMAKER_PASSWORD=DEFAULT_PASSWORD,
        BRIDGE_DATA_DIR=str(data_dir),
        BRIDGE_LOG_FORMAT="json",
        BRIDGE_METRICS_PORT="0",
        # The simulator answers in milliseconds: an in-doubt push may be sent again after 1 s.
        BRIDGE_PUSH_RESEND_AFTER="1",
    )
    if sim.shape != "contract":
        env["BRIDGE_MAPPINGS_DIR"] = str(mappings_for(sim.shape, data_dir.parent))
    env.update(extra)
    return env


def run_bridge(args: list[str], env: dict[str, str], cwd: Path,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run one bridge command as a real process and capture what it prints."""
    return subprocess.run([*BRIDGE, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL)
