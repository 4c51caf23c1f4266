"""Rows of the reliability report, and how they are written and printed."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from index.atomic_file import write_json_atomic
from qa.llm_runtime import cpu_features, cpu_name


@dataclass
class Row:
    """One case of one scenario: what was done, what came out, whether that is right."""

    scenario: str
    case: str
    outcome: str
    ok: bool
    figures: dict[str, Any] = field(default_factory=dict)


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_name(),
        "features": cpu_features(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }


def write_report(rows: list[Row], out_dir: Path, settings: dict[str, Any]) -> Path:
    """reliability.json and reliability.md in ``out_dir``; returns the JSON path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "machine": machine(),
        "settings": settings,
        "passed": sum(row.ok for row in rows),
        "failed": sum(not row.ok for row in rows),
        "rows": [asdict(row) for row in rows],
    }
    path = out_dir / "reliability.json"
    write_json_atomic(path, data)
    (out_dir / "reliability.md").write_text(table(rows) + "\n", encoding="utf-8")
    return path


def table(rows: list[Row]) -> str:
    lines = ["| 场景 | 情形 | 结果 | 通过 |", "|---|---|---|---|"]
    for row in rows:
        outcome = row.outcome.replace("|", "／").replace("\n", " ")
        lines.append(f"| {row.scenario} | {row.case} | {outcome} | {'✓' if row.ok else '✗'} |")
    return "\n".join(lines)


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
