"""A floor for the first sync: fetch every page and insert each item's payload, nothing else.

    python bench/store_floor.py http://127.0.0.1:PORT LEDGER.sqlite3

What a bridge cannot do without: read every page (the next one fetched on a thread while this
one is stored, as the bridge does), key each item, and insert its payload into SQLite, one
transaction per page. No validation, no quarantine, no field extraction, no dirty marks, no
case derivation. The gap between this and (a) is what storing costs; the gap between this and
(b) is what the bridge's own work costs. Prints one JSON line: {"items": n}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bridge.simulator.state import DEFAULT_PASSWORD, DEFAULT_USERNAME

LISTS = (("/api/suratmasuk/filter", "surat", "id_persuratan", "tgl_dibuat"),
         ("/api/disposisi/filter", "disposisi", "id_disposisi", "tgl_disposisi"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("ledger", type=Path)
    args = parser.parse_args()
    db = sqlite3.connect(args.ledger, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE items (kind TEXT, source_id TEXT, item_time TEXT, hash TEXT, "
               "payload TEXT, PRIMARY KEY (kind, source_id))")
    items = 0
    with httpx.Client(base_url=args.url, timeout=60) as http, ThreadPoolExecutor(1) as pool:
        dirs = [v for k, v in http.get("/api/auth/domain").json().items() if k.startswith("dir")]
        for directory in dirs:
            token = http.post(f"{directory}/api/auth",
                              json={"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}
                              ).json()["id_token"]
            for path, kind, key, when in LISTS:
                def page_of(number: int, url: str = f"{directory}{path}",
                            token: str = token) -> Any:
                    return json.loads(http.get(url, params={"per_page": 100, "page": number},
                                               headers={"Authorization": token}).content)

                number, pending = 1, pool.submit(page_of, 1)
                while True:
                    body = pending.result()
                    if not body["data"]:
                        break
                    more = number < float(body["total_page"])
                    if more:
                        pending = pool.submit(page_of, number + 1)
                    rows = []
                    for item in body["data"]:
                        payload = json.dumps(item, separators=(",", ":"))
                        rows.append((kind, str(item[key]), item[when], payload,
                                     hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()))
                    db.execute("BEGIN IMMEDIATE")
                    db.executemany("INSERT INTO items (kind, source_id, item_time, payload, hash) "
                                   "VALUES (?, ?, ?, ?, ?)", rows)
                    db.execute("COMMIT")
                    items += len(rows)
                    if not more:
                        break
                    number += 1
    db.close()
    print(json.dumps({"items": items}))


if __name__ == "__main__":
    main()
