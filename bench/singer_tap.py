"""A singer-sdk tap for the simulator's two lists, for bench/compare.py (singer-sdk's own venv).

    bench/.venv-singer/bin/python bench/singer_tap.py http://127.0.0.1:PORT > /dev/null

What a tap written the usual way does: a RESTStream per list (surat masuk, disposisi), one
partition per year directory (its own login), page-number paging until total_page, a schema
of string fields. The Singer messages go to stdout (/dev/null in the benchmark); the record
count goes to stderr as one JSON line: {"items": n}. It runs in its own virtual environment
and does not import the bridge.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import requests
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.pagination import BasePageNumberPaginator
from singer_sdk.streams import RESTStream

USERNAME, PASSWORD = "diskominfo.tu", "rahasia-sim"  # the simulator's defaults
LETTER_FIELDS = ("id_persuratan", "id_compose", "asal_surat", "pengirim", "perihal", "nomor_surat",
                 "tgl_dibuat", "tgl_diterimaTU", "tgl_dikirim", "n_sifatsurat", "id_sifatsurat",
                 "status_dibaca", "status_setujui", "photo", "filter_by")
DISPOSITION_FIELDS = ("id_disposisi", "id_persuratan", "dari_pegawai_id", "dari_jabatan",
                      "kepada_pegawai_id", "kepada_jabatan", "isi_disposisi", "tgl_disposisi",
                      "status_baca")
COUNT = {"items": 0}


class Pages(BasePageNumberPaginator):
    """Page numbers from 1 until the envelope's total_page."""

    def has_more(self, response: requests.Response) -> bool:
        body = response.json()
        return bool(body["data"]) and self.current_value < float(body["total_page"])


class SisumakerStream(RESTStream[int]):
    """One paged list of every year directory."""

    records_jsonpath = "$.data[*]"
    list_path = ""

    @property
    def url_base(self) -> str:
        return str(self.config["url"])

    @property
    def partitions(self) -> list[dict[str, Any]]:
        return [{"dir": directory} for directory in self._tap.tokens]  # type: ignore[attr-defined]

    @property
    def path(self) -> str:
        return "{dir}" + self.list_path

    def get_url(self, context: Any) -> str:
        return f"{self.url_base}{context['dir']}{self.list_path}"

    def get_new_paginator(self) -> Pages:
        return Pages(1)

    def get_url_params(self, context: Any, next_page_token: Any) -> dict[str, Any]:
        return {"page": next_page_token, "per_page": 100}

    def get_http_request(self, *, page: Any) -> Any:
        request = super().get_http_request(page=page)
        request.headers["Authorization"] = self._tap.tokens[page.stream_context["dir"]]  # type: ignore[attr-defined]
        return request

    def post_process(self, row: dict[str, Any], context: Any = None) -> dict[str, Any]:
        COUNT["items"] += 1
        return row


class Letters(SisumakerStream):
    name = "suratmasuk"
    list_path = "/api/suratmasuk/filter"
    primary_keys = ("id_persuratan",)
    schema = th.PropertiesList(*(th.Property(f, th.StringType) for f in (*LETTER_FIELDS, "dir"))
                               ).to_dict()


class Dispositions(SisumakerStream):
    name = "disposisi"
    list_path = "/api/disposisi/filter"
    primary_keys = ("id_disposisi",)
    schema = th.PropertiesList(*(th.Property(f, th.StringType)
                                 for f in (*DISPOSITION_FIELDS, "dir"))).to_dict()


class TapSisumaker(Tap):
    name = "tap-sisumaker"
    config_jsonschema = th.PropertiesList(th.Property("url", th.StringType, required=True)).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.config["url"]
        domain = requests.get(f"{url}/api/auth/domain", timeout=60).json()
        self.tokens = {
            directory: requests.post(f"{url}{directory}/api/auth", timeout=60,
                                     json={"username": USERNAME, "password": PASSWORD}
                                     ).json()["id_token"]
            for key, directory in domain.items() if key.startswith("dir")
        }

    def discover_streams(self) -> list[SisumakerStream]:
        return [Letters(self), Dispositions(self)]


if __name__ == "__main__":
    TapSisumaker(config={"url": sys.argv[1]}, parse_env_config=False).sync_all()
    print(json.dumps(COUNT), file=sys.stderr)
