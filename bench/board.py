"""The case board's answer times over a large ledger.

    python bench/board.py [--cases 50000] [--repeat 5] [--json bench/results-board.json]

Writes --cases cases (a tenth of them overdue) into a fresh SQLite ledger, then times the
board's WSGI application in this process (no network): the list's first page, the overdue
filter, a search matching a fifth of the cases, one matching few, and one case page. Prints
the median of --repeat calls of each, after one warm-up call.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pydantic import SecretStr

from bridge.adapters.ledger import open_ledger
from bridge.config.sop_mapping import load_sop_mappings
from bridge.domain.cases import Case, StepReached
from bridge.domain.records import CaseWrite
from bridge.entrypoints.board import Board

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-board-token-0123456789"
SENDERS = ("Dinas Kesehatan", "BKPSDM", "Kecamatan Ciputat", "DPMPTSP", "Dinas Pendidikan")


def seed(path: Path, count: int) -> None:
    ledger = open_ledger(f"sqlite:///{path}")
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    writes = []
    for n in range(count):
        step = 1 + n % 3
        at = start + timedelta(minutes=n)
        case = Case(f"2026-{100000 + n}", 2026, str(100000 + n),
                    f"Permohonan Pengembangan Aplikasi nomor {n}", SENDERS[n % len(SENDERS)], at,
                    step, {k: StepReached(at, "Kabid PTIKP", f"surat:{n}") for k in range(1, step + 1)},
                    step + 1, at + timedelta(days=2), n % 10 == 0, (), (), "request")
        writes.append(CaseWrite(2026, case.surat_id, case, (), at))
        if len(writes) == 5000:
            ledger.save_cases(writes)
            writes = []
    ledger.save_cases(writes)
    ledger.close()


def call(board: Board, path: str, query: dict[str, str], cookie: str) -> int:
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": path,
                               "QUERY_STRING": urlencode(query), "HTTP_COOKIE": cookie,
                               "wsgi.input": io.BytesIO()}
    status: list[str] = []
    body = b"".join(board(environ, lambda s, _h: status.append(s)))
    if not status[0].startswith("200"):
        raise SystemExit(f"{path}: {status[0]}")
    return len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results-board.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite3"
        seed(path, args.cases)
        board = Board(lambda: open_ledger(f"sqlite:///{path}"),
                      load_sop_mappings(ROOT / "mappings").sop, SecretStr(TOKEN))
        login: dict[str, Any] = {"REQUEST_METHOD": "POST", "PATH_INFO": "/board/login",
                                 "CONTENT_LENGTH": str(len(f"token={TOKEN}")),
                                 "wsgi.input": io.BytesIO(f"token={TOKEN}".encode())}
        headers: list[tuple[str, str]] = []
        board(login, lambda _s, h: headers.extend(h))
        cookie = dict(headers)["Set-Cookie"].split(";")[0]
        figures: dict[str, Any] = {"cases": args.cases}
        for name, path_, query in (
                ("list, first page", "/board/", {}),
                ("overdue only", "/board/", {"terlambat": "1"}),
                ("search, 1 in 5 match", "/board/", {"cari": "kesehatan"}),
                ("search, few match", "/board/", {"cari": f"nomor {args.cases // 3}"}),
                ("case page", f"/board/kasus/2026-{100000 + args.cases // 2}", {})):
            size = call(board, path_, query, cookie)
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                call(board, path_, query, cookie)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            figures[name] = {"median_ms": round(median * 1000, 1), "bytes": size}
            print(f"{name:22s} {median * 1000:8.1f} ms  {size / 1024:7.1f} KiB")
    args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
