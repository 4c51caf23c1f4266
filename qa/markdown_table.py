"""Rows of figures as a Markdown table (the tables of eval/runs/ and python -m qa.verdict_fit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def markdown_table(
    rows: list[dict[str, Any]], marked: Callable[[dict[str, Any]], bool] | None = None
) -> str:
    """A header of the first row's keys, then one line a row; rows ``marked`` picks end
    with an arrow."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        mark = " **←**" if marked is not None and marked(row) else ""
        lines.append("| " + " | ".join(str(row[k]) for k in keys) + f"{mark} |")
    return "\n".join(lines)
