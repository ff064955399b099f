"""dlt's rest_api source for the simulator's two lists into duckdb, for bench/compare.py.

    bench/.venv-dlt/bin/python bench/dlt_load.py http://127.0.0.1:PORT WORKDIR

The usual way to load a paged REST API with dlt: a rest_api source with one resource per list
(surat masuk, disposisi) and year directory, a page-number paginator reading total_page, the
raw token in the Authorization header, loaded into a duckdb file in WORKDIR with the jsonl
loader. Prints one JSON line: {"items": n}. It runs in its own virtual environment and does
not import the bridge.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import dlt
import requests
from dlt.sources.rest_api import rest_api_source

USERNAME, PASSWORD = "diskominfo.tu", "rahasia-sim"  # the simulator's defaults
LISTS = (("suratmasuk", "/api/suratmasuk/filter", "id_persuratan"),
         ("disposisi", "/api/disposisi/filter", "id_disposisi"))


def main() -> None:
    url, workdir = sys.argv[1], Path(sys.argv[2])
    os.environ["DLT_DATA_DIR"] = str(workdir / "dlt-data")
    domain = requests.get(f"{url}/api/auth/domain", timeout=60).json()
    items = 0
    for key, directory in domain.items():
        if not key.startswith("dir"):
            continue
        token = requests.post(f"{url}{directory}/api/auth", timeout=60,
                              json={"username": USERNAME, "password": PASSWORD}).json()["id_token"]
        source = rest_api_source({
            "client": {
                "base_url": f"{url}{directory}/",
                "auth": {"type": "api_key", "name": "Authorization", "api_key": token,
                         "location": "header"},
                "paginator": {"type": "page_number", "base_page": 1, "page_param": "page",
                              "total_path": "total_page"},
            },
            "resource_defaults": {"write_disposition": "append",
                                  "endpoint": {"params": {"per_page": 100}, "data_selector": "data"}},
            "resources": [{"name": name, "primary_key": key_field,
                           "endpoint": {"path": path.lstrip("/")}}
                          for name, path, key_field in LISTS],
        })
        pipeline = dlt.pipeline(pipeline_name=f"sisumaker{key}", pipelines_dir=str(workdir / "pipelines"),
                                destination=dlt.destinations.duckdb(str(workdir / "sisumaker.duckdb")),
                                dataset_name=f"sisumaker_{key}")
        pipeline.run(source, loader_file_format="jsonl")
        counts = pipeline.last_trace.last_normalize_info.row_counts
        items += sum(counts.get(name, 0) for name, _, _ in LISTS)
    print(json.dumps({"items": items}))


if __name__ == "__main__":
    main()
