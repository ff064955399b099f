"""Benchmark: how long each command takes as a whole process, start-up included.

    python bench/startup.py [--runs 7] [--letters 10000] [--data-dir DIR]
                            [--json bench/results-startup.json]

Fills a ledger the way an operator would (`bridge demo --letters N --passes 1`: about 2,500
cases and 9,000 pushes for 10,000 letters) unless --data-dir names one already filled, then
runs each read-only command (and `--help`) --runs times after one warm-up, each as a new
process with its output sent to /dev/null, and prints the median, minimum and maximum wall
seconds and CPU seconds (user + sys, from the kernel's accounting of the finished child). The
targets of issue 12: `--help` and `status --json` within 0.3 s of wall time, the other
read-only commands within 0.5 s. It is a script that prints figures, not a test.
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

ROOT = Path(__file__).resolve().parent.parent
BRIDGE = [sys.executable, "-m", "bridge"]


def commands(case_id: str) -> list[list[str]]:
    return [["--help"], ["status", "--json"], ["status"], ["cases"], ["cases", "--json"],
            ["case", case_id], ["case", case_id, "--json"], ["outbox"], ["quarantine"]]


def run_once(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and exit status of one whole process."""
    started = time.perf_counter()
    proc = subprocess.Popen([*BRIDGE, *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def fill_ledger(data_dir: Path, letters: int, env: dict[str, str]) -> Path:
    """A demo ledger under data_dir/demo; returns that directory."""
    print(f"filling a ledger: bridge demo --letters {letters} --passes 1 ...", flush=True)
    subprocess.run([*BRIDGE, "demo", "--letters", str(letters), "--passes", "1"], check=True,
                   env={**env, "BRIDGE_DATA_DIR": str(data_dir)}, cwd=data_dir,
                   stdout=subprocess.DEVNULL)
    return data_dir / "demo"


def first_case(env: dict[str, str], cwd: Path) -> str:
    out = subprocess.run([*BRIDGE, "cases", "--json"], env=env, cwd=cwd, check=True,
                         capture_output=True, text=True).stdout
    first = out.splitlines()[0] if out else ""
    return json.loads(first)["case_id"] if first else "2026-1"


def measure(args: list[str], env: dict[str, str], cwd: Path, runs: int) -> dict[str, Any]:
    run_once(args, env, cwd)  # warm-up: the file cache, the bytecode cache
    walls, cpus, codes = [], [], set()
    for _ in range(runs):
        wall, cpu, code = run_once(args, env, cwd)
        walls.append(wall)
        cpus.append(cpu)
        codes.add(code)
    return {"command": "bridge " + " ".join(args), "wall_median_s": statistics.median(walls),
            "wall_min_s": min(walls), "wall_max_s": max(walls),
            "cpu_median_s": statistics.median(cpus), "exit_codes": sorted(codes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, help="a BRIDGE_DATA_DIR already filled")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results-startup.json")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("BRIDGE_")}
    env["BRIDGE_LOG_FORMAT"] = "json"
    with tempfile.TemporaryDirectory(prefix="bridge-startup-") as scratch:
        cwd = Path(scratch)  # no .env from the repository is read
        data_dir = args.data_dir or fill_ledger(cwd, args.letters, env)
        env["BRIDGE_DATA_DIR"] = str(data_dir.resolve())
        case_id = first_case(env, cwd)
        print(f"ledger {data_dir}; {args.runs} runs after a warm-up, whole processes")
        print(f"{'command':<34} {'wall median':>11} {'min':>7} {'max':>7} {'cpu median':>11}")
        results = []
        for command in commands(case_id):
            figures = measure(command, env, cwd, args.runs)
            results.append(figures)
            print(f"{figures['command']:<34} {figures['wall_median_s']:>10.3f}s "
                  f"{figures['wall_min_s']:>6.3f}s {figures['wall_max_s']:>6.3f}s "
                  f"{figures['cpu_median_s']:>10.3f}s"
                  + ("" if figures["exit_codes"] == [0] else f"  exit {figures['exit_codes']}"))
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
