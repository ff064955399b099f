"""Terminal output shared by the commands: tables and one-line errors, hostile text made inert."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from bridge.domain.text import printable


def fail(reason: str) -> None:
    """One line on stderr: ``bridge: error: <reason>``."""
    print(f"bridge: error: {printable(reason)}", file=sys.stderr)


def print_table(rows: Sequence[Sequence[str]], *, max_width: int = 60) -> None:
    """Left-aligned columns; each cell made printable and cut to ``max_width``."""
    cells = [[_cut(printable(cell), max_width) for cell in row] for row in rows]
    if not cells:
        return
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    # One write, not a print per row: 9,000 rows of `bridge outbox` took 0.14 s in print alone.
    sys.stdout.write("".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in cells
    ))


def print_json_lines(docs: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line, ASCII only, written at once."""
    sys.stdout.write("".join(json.dumps(doc, ensure_ascii=True) + "\n" for doc in docs))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
