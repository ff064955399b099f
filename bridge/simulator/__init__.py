"""A simulated Sisumaker for tests, benchmarks and demos: standard library only.

It serves the contract of /work/shared/sisumaker-api.md over real HTTP on 127.0.0.1, quirks
included, with an admin API under ``/_sim/`` and optional fault injection::

    state = SimState()
    generate(state, letters=200)
    with SimServer(state) as server:
        ...  # point the bridge at server.url
"""

from bridge.simulator.data import GenerationSummary, generate
from bridge.simulator.server import SimServer
from bridge.simulator.state import (
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    WIB,
    FaultConfig,
    InvalidInputError,
    NotFoundError,
    SimState,
    year_dir,
)

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "WIB",
    "FaultConfig",
    "GenerationSummary",
    "InvalidInputError",
    "NotFoundError",
    "SimServer",
    "SimState",
    "generate",
    "year_dir",
]
