"""Benchmark: the bridge's first sync against the raw-fetch limit, an idle pass, peak memory.

    python bench/first_sync.py [--letters 50000] [--dispositions 100000] [--runs 3]
                               [--latency-ms 0] [--json bench/results-first-sync.json]

Everything runs as whole processes on loopback: a simulated Sisumaker (python -m
bridge.simulator) and, per run, (a) bench/raw_fetch.py, the bare fetch-and-parse loop, and
(b) `bridge sync --once` on a fresh ledger. Without added latency it also times (a')
bench/store_floor.py, which only fetches and inserts each item's payload: the floor of any
design that stores every item, to tell what storing costs from what the bridge's work costs.
After a warm-up run of each, it prints the median of --runs runs, then (c) the requests and
CPU milliseconds of an idle pass and (d) the peak RSS of (b). It is a script that prints
figures, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def start_simulator(letters: int, dispositions: int, latency_ms: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [PY, "-m", "bridge.simulator", "--port", "0", "--letters", str(letters),
         "--dispositions", str(dispositions), "--seed", "1", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("SIMULATOR_URL="):
        proc.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return proc, line.split("=", 1)[1]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command to the end; wall seconds, CPU ms and peak RSS of that process.

    Output goes to temporary files, not pipes: a pipe nobody reads fills up and blocks the
    process being measured.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed ({proc.returncode}): {stderr[-2000:]}")
    return {"wall_s": wall, "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000,
            "peak_rss_mb": usage.ru_maxrss / 1024, "stdout": stdout}


def bridge_env(url: str, data_dir: str, ledger_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    # Pushes are left out: (b) measures reading, storing and case derivation.
    env.update(BRIDGE_SISUMAKER_URL=url, BRIDGE_SISUMAKER_USERNAME="diskominfo.tu",
               BRIDGE_SISUMAKER_PASSWORD="rahasia-sim", BRIDGE_DATA_DIR=data_dir,
               BRIDGE_LOG_FORMAT="json", BRIDGE_LOG_LEVEL="INFO", BRIDGE_PUSH_ENABLED="false")
    if ledger_url:
        env["BRIDGE_LEDGER_URL"] = ledger_url
    return env


class PostgresSchemas:
    """A fresh PostgreSQL schema per run, dropped afterwards."""

    def __init__(self, url: str) -> None:
        import psycopg

        self._url = url
        self._conn = psycopg.connect(url, autocommit=True)
        self._schemas: list[str] = []

    def fresh(self) -> str:
        schema = f"bench_{len(self._schemas)}_{os.getpid()}"
        self._conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self._conn.execute(f'CREATE SCHEMA "{schema}"')
        self._schemas.append(schema)
        sep = "&" if "?" in self._url else "?"
        return f"{self._url}{sep}options=-csearch_path%3D{schema}"

    def close(self) -> None:
        for schema in self._schemas:
            self._conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self._conn.close()


def summary_of(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if '"sync.summary"' in line:
            return json.loads(line)
    raise SystemExit("no sync.summary line in the bridge's output")


def list_requests(url: str) -> dict[str, int]:
    """The list requests the simulator answered since its counters were reset, by list."""
    counts = httpx.get(f"{url}/_sim/stats").json()["requests"]
    return {key: n for key, n in counts.items() if "/filter" in key}


def run_regime(letters: int, dispositions: int, runs: int, latency_ms: int,
               postgres: PostgresSchemas | None, *, floor: bool = False) -> dict[str, Any]:
    sim, url = start_simulator(letters, dispositions, latency_ms)
    try:
        items = letters + dispositions
        raw_runs, sync_runs, floor_runs = [], [], []
        for index in range(runs + 1):  # the first of each is the warm-up
            if floor:
                with tempfile.TemporaryDirectory() as data:
                    floor_runs.append(timed([PY, str(ROOT / "bench" / "store_floor.py"), url,
                                             str(Path(data) / "floor.sqlite3")]))
            raw = timed([PY, str(ROOT / "bench" / "raw_fetch.py"), url])
            fetched = json.loads(raw["stdout"])["items"]
            if fetched != items:
                raise SystemExit(f"raw fetch saw {fetched} items, expected {items}")
            with tempfile.TemporaryDirectory() as data:
                ledger = postgres.fresh() if postgres else None
                env = bridge_env(url, data, ledger)
                sync = timed([PY, "-m", "bridge", "sync", "--once"], env)
                if index == runs:  # the last run also measures an idle pass
                    httpx.post(f"{url}/_sim/stats/reset")
                    idle = timed([PY, "-m", "bridge", "sync", "--once"], env)
                    idle["by_list"] = list_requests(url)
                    idle["list_requests"] = sum(idle["by_list"].values())
                    idle["summary"] = summary_of(idle["stdout"])
            if index:
                raw_runs.append(raw)
                sync_runs.append(sync)
        raw_s = statistics.median(r["wall_s"] for r in raw_runs)
        floor_s = statistics.median(r["wall_s"] for r in floor_runs[1:]) if floor else None
        sync_s = statistics.median(r["wall_s"] for r in sync_runs)
        return {
            "ledger": "postgresql" if postgres else "sqlite",
            "latency_ms": latency_ms,
            "items": items,
            "raw": {"seconds": raw_s, "items_per_s": items / raw_s,
                    "all_s": [r["wall_s"] for r in raw_runs]},
            "sync": {"seconds": sync_s, "items_per_s": items / sync_s,
                     "all_s": [r["wall_s"] for r in sync_runs],
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in sync_runs)},
            "ratio": raw_s / sync_s,
            "floor": None if floor_s is None else {
                "seconds": floor_s, "items_per_s": items / floor_s, "ratio": raw_s / floor_s},
            "idle": {"list_requests": idle["list_requests"], "by_list": idle["by_list"],
                     "cpu_ms_round": idle["summary"]["cpu_ms"],
                     "cpu_ms_process": idle["cpu_ms"], "wall_s": idle["wall_s"]},
        }
    finally:
        sim.terminate()
        sim.wait(timeout=30)


def report(result: dict[str, Any]) -> None:
    raw, sync, idle = result["raw"], result["sync"], result["idle"]
    print(f"-- {result['ledger']} ledger, latency {result['latency_ms']} ms per request, "
          f"{result['items']} items")
    print(f"(a) raw fetch+parse : {raw['seconds']:7.2f} s  {raw['items_per_s']:9.0f} items/s")
    if result.get("floor"):
        floor = result["floor"]
        print(f"(a') fetch + insert : {floor['seconds']:7.2f} s  {floor['items_per_s']:9.0f} items/s"
              f"  ratio (a')/(a) = {floor['ratio']:.2f}  (bench/store_floor.py: no validation,"
              " no cases)")
    print(f"(b) bridge 1st sync : {sync['seconds']:7.2f} s  {sync['items_per_s']:9.0f} items/s"
          f"  ratio (b)/(a) = {result['ratio']:.2f}")
    print(f"(c) idle pass       : {idle['list_requests']} list requests {idle['by_list']}, "
          f"{idle['cpu_ms_round']:.0f} ms CPU for the round "
          f"({idle['cpu_ms_process']:.0f} ms for the whole process, start-up included)")
    print(f"(d) peak RSS of (b) : {sync['peak_rss_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=50_000)
    parser.add_argument("--dispositions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, nargs="*", default=[0])
    parser.add_argument("--ledger", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results-first-sync.json")
    args = parser.parse_args()
    results = []
    backends = ["sqlite", "postgresql"] if args.ledger == "both" else [args.ledger]
    for backend in backends:
        postgres = PostgresSchemas(args.postgres_url) if backend == "postgresql" else None
        try:
            for latency in args.latency_ms:
                # The floor is told apart from (a) only where the CPU is the limit.
                result = run_regime(args.letters, args.dispositions, args.runs, latency, postgres,
                                    floor=latency == 0 and postgres is None)
                report(result)
                results.append(result)
        finally:
            if postgres:
                postgres.close()
    args.json.write_text(json.dumps(results, indent=2))
    print(f"written: {args.json}")


if __name__ == "__main__":
    main()
