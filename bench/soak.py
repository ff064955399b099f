"""Soak: the bridge daemon under sustained arrivals with faults on, for a bounded time.

    python bench/soak.py [--minutes 5] [--per-day 600] [--speedup 10] [--sample-s 15]
                         [--json bench/results-soak.json]

A simulated Sisumaker (python -m bridge.simulator, loopback only) starts with a backlog and
answers with faults (5xx, 429 with Retry-After, dropped connections, truncated bodies, latency).
Letters and their dispositions arrive at --speedup times a busy day of --per-day letters,
spread evenly. `bridge run` polls every 2 s. Every --sample-s seconds the script prints the
bridge's RSS, the ledger's size on disk and the items it holds, so growth beyond the new items
shows. At the end the faults stop, the bridge catches up, is stopped with SIGTERM, and the
ledger is compared with the server. Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WIB = ZoneInfo("Asia/Jakarta")
FAULTS = {"error_rate": 0.05, "error_codes": [500, 502, 503], "rate_limit_rate": 0.02,
          "retry_after": 1, "drop_rate": 0.01, "truncate_rate": 0.01, "latency_ms": 5,
          "seed": 7}
SUBJECTS = ("Permohonan Pengembangan Aplikasi {n}", "Undangan Rapat Koordinasi {n}",
            "Permohonan Data Kepegawaian {n}", "Usulan pembuatan sistem informasi {n}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ledger_state(data: Path) -> tuple[float, int]:
    path = data / "ledger.sqlite3"
    if not path.exists():
        return 0.0, 0
    size = sum(p.stat().st_size for p in data.glob("ledger.sqlite3*"))
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is being created
        items = 0
    finally:
        conn.close()
    return size / 1e6, int(items)


def main() -> None:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--per-day", type=int, default=600, help="letters on a busy day")
    parser.add_argument("--speedup", type=float, default=10.0)
    parser.add_argument("--backlog", type=int, default=3000, help="letters before the soak")
    parser.add_argument("--sample-s", type=float, default=15.0)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results-soak.json")
    args = parser.parse_args()
    rng = random.Random(11)
    sim = subprocess.Popen([PY, "-m", "bridge.simulator", "--letters", str(args.backlog)],
                           stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = sim.stdout.readline().strip() if sim.stdout else ""
    url = line.split("=", 1)[1]
    http = httpx.Client(base_url=url, timeout=30)
    http.post("/_sim/faults", json=FAULTS).raise_for_status()
    data = Path(tempfile.mkdtemp(prefix="soak-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env.update(BRIDGE_SISUMAKER_URL=url, BRIDGE_SISUMAKER_USERNAME="diskominfo.tu",
               BRIDGE_SISUMAKER_PASSWORD="rahasia-sim", BRIDGE_DATA_DIR=str(data),
               BRIDGE_POLL_INTERVAL="2", BRIDGE_LOG_FORMAT="json", BRIDGE_LOG_LEVEL="WARNING",
               BRIDGE_METRICS_PORT="0", BRIDGE_HTTP_MAX_ATTEMPTS="8")
    log = (data / "bridge.log").open("w")
    bridge = subprocess.Popen([PY, "-m", "bridge", "run"], env=env, cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT)
    year = datetime.now(WIB).year
    per_second = args.per_day * args.speedup / 86_400
    samples: list[dict[str, Any]] = []
    arrived = 0
    started = time.monotonic()
    deadline = started + args.minutes * 60
    next_sample = started
    next_arrival = started
    try:
        while time.monotonic() < deadline:  # bounded by --minutes
            now = time.monotonic()
            if now >= next_arrival:
                arrived += 1
                moment = datetime.now(WIB).strftime("%Y-%m-%d %H:%M:%S")
                answer = http.post("/_sim/letters", json={
                    "year": year, "tgl_dibuat": moment, "asal_surat": "Dinas Soak",
                    "perihal": rng.choice(SUBJECTS).format(n=arrived)})
                letter_id = answer.json()["id"]
                for _ in range(2):
                    http.post("/_sim/dispositions", json={
                        "year": year, "id_persuratan": letter_id, "tgl_disposisi": moment,
                        "dari_jabatan": "Kepala Dinas Komunikasi dan Informatika",
                        "kepada_jabatan": "Kabid PTIKP", "isi_disposisi": "Tindaklanjuti"})
                next_arrival += 1 / per_second
            if now >= next_sample:
                size, items = ledger_state(data)
                sample = {"t_s": round(now - started, 1), "rss_mb": round(rss_mb(bridge.pid), 1),
                          "ledger_mb": round(size, 2), "items": items, "arrived": arrived}
                samples.append(sample)
                print(json.dumps(sample), flush=True)
                next_sample += args.sample_s
            time.sleep(0.05)
        http.post("/_sim/faults", json={}).raise_for_status()
        time.sleep(10)  # a few clean rounds to catch up
        bridge.send_signal(signal.SIGTERM)
        code = bridge.wait(timeout=30)
        size, items = ledger_state(data)
        stats = http.get("/_sim/stats").json()
        server_items = sum(y["letters"] + y["dispositions"] for y in stats["years"].values())
        first, last = samples[1] if len(samples) > 1 else samples[0], samples[-1]
        result = {
            "minutes": args.minutes, "arrived_letters": arrived, "exit_code": code,
            "ledger_items": items, "server_items": server_items,
            "rss_mb_first": first["rss_mb"], "rss_mb_last": last["rss_mb"],
            "rss_mb_max": max(s["rss_mb"] for s in samples),
            "ledger_mb_first": first["ledger_mb"], "ledger_mb_last": round(size, 2),
            "ledger_bytes_per_new_item": round((size - first["ledger_mb"]) * 1e6
                                               / max(1, items - first["items"])),
            "faults_applied": stats.get("faults_applied"), "samples": samples,
        }
        print(f"soak {args.minutes} min: {arrived} letters arrived (x3 items with dispositions); "
              f"exit {code}; ledger {items} items vs server {server_items}; "
              f"RSS {result['rss_mb_first']} -> {result['rss_mb_last']} MB "
              f"(max {result['rss_mb_max']}); ledger {result['ledger_mb_first']} -> "
              f"{result['ledger_mb_last']} MB, {result['ledger_bytes_per_new_item']} B per new item")
        args.json.write_text(json.dumps(result, indent=2))
    finally:
        if bridge.poll() is None:
            bridge.kill()
        sim.terminate()
        sim.wait(timeout=30)
        http.close()
        log.close()


if __name__ == "__main__":
    main()
