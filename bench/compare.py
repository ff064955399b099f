"""Benchmark: the bridge's first sync beside singer-sdk and dlt, in one run, same simulator.

    python bench/compare.py [--letters 50000] [--dispositions 100000] [--runs 3]
                            [--latency-ms 0] [--json bench/results-compare.json]

One simulated Sisumaker (python -m bridge.simulator) on loopback, and per run, as whole
processes reading both lists (surat masuk, disposisi) of every year directory:

(a) bench/raw_fetch.py: log in, fetch and JSON-parse every page, nothing else;
(b) `bridge sync --once` on a fresh ledger: validation, versions, quarantine, cases (pushes off);
(c) bench/singer_tap.py: a singer-sdk tap (REST streams, page-number paging, a schema),
    its Singer messages written to /dev/null;
(d) bench/dlt_load.py: dlt's rest_api source into duckdb with the jsonl loader.

(c) and (d) run in virtual environments of their own, bench/.venv-singer and bench/.venv-dlt,
created here when absent (pip install singer-sdk / dlt[duckdb]); neither is a dependency of
the bridge. After a warm-up run of each it prints the median of --runs runs: seconds,
items/s and the ratio to (a). It is a script that prints figures, not a test.
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

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from first_sync import ROOT, bridge_env, start_simulator  # noqa: E402

PY = sys.executable
VENVS = {"singer": ("singer-sdk", "singer_sdk", "singer-sdk"), "dlt": ("dlt[duckdb]", "dlt", "dlt")}


def venv_python(name: str) -> Path:
    """The python of bench/.venv-NAME, the venv created (and its package installed) if absent."""
    venv = BENCH / f".venv-{name}"
    python = venv / "bin" / "python"
    requirement, module, _ = VENVS[name]
    ready = python.exists() and subprocess.run([python, "-c", f"import {module}"],
                                               capture_output=True, check=False).returncode == 0
    if not ready:
        print(f"creating {venv} (pip install {requirement}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", requirement], check=True)
    return python


def version_of(python: Path, distribution: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def run(cmd: list[str | Path], *, env: dict[str, str] | None = None,
        count_from: str = "stdout") -> dict[str, Any]:
    """Run a command to the end; wall seconds, CPU ms, and the item count it printed.

    stdout goes to /dev/null when the count is on stderr (the Singer messages of (c)).
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        stdout = subprocess.DEVNULL if count_from == "stderr" else out
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=stdout, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout_text, stderr_text = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed: {stderr_text[-2000:]}")
    lines = (stderr_text if count_from == "stderr" else stdout_text).strip().splitlines()
    items = next((json.loads(line)["items"] for line in reversed(lines)
                  if line.startswith('{"items"')), None)
    return {"wall_s": wall, "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000, "items": items}


def one_round(url: str, singer: Path, dlt: Path) -> dict[str, dict[str, Any]]:
    """One run of each of (a) to (d), in that order."""
    results = {"raw": run([PY, BENCH / "raw_fetch.py", url])}
    with tempfile.TemporaryDirectory() as data:
        results["bridge"] = run([PY, "-m", "bridge", "sync", "--once"],
                                env=bridge_env(url, data, None), count_from="none")
    results["singer"] = run([singer, BENCH / "singer_tap.py", url], count_from="stderr")
    with tempfile.TemporaryDirectory() as work:
        results["dlt"] = run([dlt, BENCH / "dlt_load.py", url, work])
    return results


LABELS = {"raw": "(a) raw fetch + parse", "bridge": "(b) bridge first sync",
          "singer": "(c) singer-sdk tap", "dlt": "(d) dlt rest_api"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=50_000)
    parser.add_argument("--dispositions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--json", type=Path, default=BENCH / "results-compare.json")
    args = parser.parse_args()
    singer, dlt = venv_python("singer"), venv_python("dlt")
    versions = {"singer-sdk": version_of(singer, "singer-sdk"), "dlt": version_of(dlt, "dlt")}
    items = args.letters + args.dispositions
    sim, url = start_simulator(args.letters, args.dispositions, args.latency_ms)
    try:
        rounds = [one_round(url, singer, dlt) for _ in range(args.runs + 1)][1:]  # first: warm-up
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    for name in ("raw", "singer", "dlt"):
        counts = {r[name]["items"] for r in rounds}
        if counts != {items}:
            raise SystemExit(f"{LABELS[name]} saw {counts} items, expected {items}")
    seconds = {name: statistics.median(r[name]["wall_s"] for r in rounds) for name in LABELS}
    print(f"-- {items} items ({args.letters} letters + {args.dispositions} dispositions), "
          f"latency {args.latency_ms} ms per request, median of {args.runs} runs; "
          f"singer-sdk {versions['singer-sdk']}, dlt {versions['dlt']}")
    for name, label in LABELS.items():
        print(f"{label:24s}: {seconds[name]:7.2f} s  {items / seconds[name]:9.0f} items/s"
              f"  ratio to (a) = {seconds['raw'] / seconds[name]:.3f}")
    result = {"items": items, "latency_ms": args.latency_ms, "versions": versions,
              "seconds": seconds, "ratio": {n: seconds["raw"] / s for n, s in seconds.items()},
              "all": rounds}
    args.json.write_text(json.dumps(result, indent=2))
    print(f"written: {args.json}")


if __name__ == "__main__":
    main()
