"""Run the simulator: ``python -m bridge.simulator [--port 0] [--letters N] ...``.

Generates the data, starts serving, prints one line ``SIMULATOR_URL=http://127.0.0.1:PORT``
on stdout, then serves until SIGTERM or SIGINT and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from bridge.simulator.data import generate
from bridge.simulator.server import SimServer
from bridge.simulator.state import DEFAULT_PASSWORD, DEFAULT_USERNAME, SimState, full_year


def _years(text: str) -> list[int]:
    """Parse ``25,26`` (or ``2025,2026``) into years."""
    try:
        return [full_year(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m bridge.simulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 takes a free port (default)")
    parser.add_argument("--letters", type=int, default=200, help="letters to generate")
    parser.add_argument(
        "--dispositions", type=int, default=None, help="exact count (default about 2 per letter)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument(
        "--years", type=_years, default=None, help="e.g. 25,26 (default last and this year)"
    )
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument(
        "--fractional-total-page", action="store_true", help="send total_page as total/per_page"
    )
    parser.add_argument(
        "--shape", choices=("contract", "alt"), default="contract",
        help="the REST shape served: the contract, or another deployment's (alt; its profile "
        "is mappings/profiles/alt/sisumaker.toml)",
    )
    parser.add_argument(
        "--naive-dates", action="store_true",
        help="alt shape: dates without their +07:00 offset",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, serve until SIGTERM/SIGINT, return the exit status."""
    args = parse_args(argv)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Installed first, so a signal during generation still ends the process cleanly.
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    state = SimState(
        years=args.years,
        username=args.username,
        password=args.password,
        fractional_total_page=args.fractional_total_page,
    )
    generate(state, letters=args.letters, dispositions=args.dispositions, seed=args.seed)
    state.warm()
    if args.latency_ms:
        state.set_faults(latency_ms=args.latency_ms)
    with SimServer(state, port=args.port, shape=args.shape,
                   offset_dates=not args.naive_dates) as server:
        sys.stdout.write(f"SIMULATOR_URL={server.url}\n")
        sys.stdout.flush()
        # A timed wait, so the signal handler gets to run promptly on every platform.
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
