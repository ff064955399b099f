"""Paged answers as the profile describes them: how to ask for page n, how to read one.

Every paging style is reduced to the same two things: the request for page ``n`` (counted
from 1 whatever the server counts from) and a :class:`RawPage` whose ``more`` says whether
the list goes on and whose ``next_cursor`` asks for the next page of a cursor or next-link
list. Callers never branch on the style.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.config.profile import NUMBERED, PagedSpec, Paging, dig
from bridge.errors import FatalApiError, RetriableApiError
from bridge.ports import RawPage

_TRUE = frozenset({"1", "true", "yes", "y"})


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A GET for one page: a path (or a next link, followed as given) and its parameters."""

    path: str
    params: dict[str, str]


def page_request(paging: Paging, path: str, params: Mapping[str, str], number: int,
                 cursor: str | None) -> PageRequest:
    """The request for page ``number`` (from 1); ``cursor`` is what page ``number - 1`` gave."""
    query = dict(params)
    if paging.size_param:
        query[paging.size_param] = str(paging.size)
    if paging.style == "page":
        query[paging.page_param] = str(number - 1 + paging.first_page)
        return PageRequest(path, query)
    if paging.style == "offset":
        query[paging.offset_param] = str((number - 1) * paging.size)
        return PageRequest(path, query)
    if number == 1:
        return PageRequest(path, query)
    if cursor is None:
        raise FatalApiError(f"GET {path}: page {number} needs the cursor of page {number - 1}")
    if paging.style == "cursor":
        query[paging.cursor_param] = cursor
        return PageRequest(path, query)
    return PageRequest(cursor, {})  # a next link carries its own parameters


def read_page(body: Any, spec: PagedSpec, paging: Paging, number: int, *, where: str,
              link: str | None = None) -> RawPage:
    """Read page ``number`` of a paged answer; ``link``: the Link header's rel=next URL."""
    items = page_items(body, spec.items_path, where=where)
    if items is None:
        items = []
    keyed = isinstance(body, Mapping)
    total_pages = _as_pages(dig(body, spec.total_pages_path)) if spec.total_pages_path else None
    total_items = _as_int(dig(body, spec.total_items_path)) if spec.total_items_path else None
    next_cursor = _next_cursor(body if keyed else {}, paging, link)
    return RawPage(
        page=_echoed(body, spec, paging) if keyed else 0,
        total_pages=total_pages,
        total_items=total_items,
        items=items,
        more=_more(body, spec, paging, number, len(items), total_pages, total_items,
                   next_cursor, where),
        next_cursor=next_cursor,
    )


def page_items(body: Any, items_path: str, *, where: str) -> list[Any] | None:
    """The entries of an answer (None when the answer has none at ``items_path``)."""
    if not items_path:
        if isinstance(body, list):
            return body
        raise RetriableApiError(f"{where}: expected a JSON list, got {type(body).__name__}")
    if not isinstance(body, Mapping):
        raise RetriableApiError(f"{where}: expected a JSON object, got {type(body).__name__}")
    items = dig(body, items_path)
    if items is not None and not isinstance(items, list):
        raise FatalApiError(f"{where}: {items_path!r} is not a list")
    return items


def _echoed(body: Any, spec: PagedSpec, paging: Paging) -> int:
    """The page number the server says it answered, counted from 1 (0: not said)."""
    if not spec.page_path or paging.style not in NUMBERED:
        return 0
    value = _as_int(dig(body, spec.page_path))
    if value is None:
        return 0
    if paging.style == "page":
        return value - paging.first_page + 1
    # An offset that is not a multiple of the size answers no page we asked for: -1 never
    # equals the page number, so the poller stops the pass as a page loop.
    return value // paging.size + 1 if value % paging.size == 0 else -1


def _next_cursor(body: Mapping[str, Any], paging: Paging, link: str | None) -> str | None:
    if paging.style == "cursor":
        value = dig(body, paging.cursor_path)
    elif paging.style == "next_link":
        value = link if paging.link_header else dig(body, paging.next_path)
    else:
        return None
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip() if isinstance(value, str | int) else ""
    return text or None


def _more(body: Any, spec: PagedSpec, paging: Paging, number: int, count: int,
          total_pages: int | None, total_items: int | None, next_cursor: str | None,
          where: str) -> bool:
    """The profile's end-of-list signal; an empty page always ends the list."""
    if count == 0:
        return False
    if spec.end == "total_pages":
        more = total_pages is None or number < total_pages
    elif spec.end == "total_items":
        more = total_items is None or (number - 1) * paging.size + count < total_items
    elif spec.end == "has_more":
        flag = dig(body, spec.has_more_path) if isinstance(body, Mapping) else None
        # No flag at all: read on; the empty page at the end stops the list.
        more = flag is None or _truthy(flag)
    elif spec.end == "no_next":
        more = next_cursor is not None
    else:
        more = count >= paging.size
    if more and paging.style not in NUMBERED and next_cursor is None:
        raise FatalApiError(f"{where}: the list goes on after page {number} but the answer "
                            "gives no next cursor or link; check the profile's paging")
    return more


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return str(value).strip().lower() in _TRUE


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if math.isfinite(number) else None


def _as_pages(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return math.ceil(number)
