"""The raw-fetch limit: log in, then fetch and JSON-parse every page of both lists, nothing else.

    python bench/raw_fetch.py http://127.0.0.1:PORT [--year-dir /surattangsel26]

Prints one JSON line: {"items": n, "pages": p}.
"""

from __future__ import annotations

import argparse
import json

import httpx

from bridge.simulator.state import DEFAULT_PASSWORD, DEFAULT_USERNAME

LISTS = ("/api/suratmasuk/filter", "/api/disposisi/filter")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    args = parser.parse_args()
    items = pages = 0
    with httpx.Client(base_url=args.url, timeout=60) as http:
        dirs = [v for k, v in http.get("/api/auth/domain").json().items() if k.startswith("dir")]
        for directory in dirs:
            token = http.post(f"{directory}/api/auth",
                              json={"username": args.username, "password": args.password}
                              ).json()["id_token"]
            for path in LISTS:
                page = 1
                while True:
                    body = json.loads(http.get(f"{directory}{path}",
                                               params={"per_page": 100, "page": page},
                                               headers={"Authorization": token}).content)
                    pages += 1
                    if not body["data"]:
                        break
                    items += len(body["data"])
                    if page >= float(body["total_page"]):
                        break
                    page += 1
    print(json.dumps({"items": items, "pages": pages}))


if __name__ == "__main__":
    main()
