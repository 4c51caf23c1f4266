"""The index folder on disk, written atomically.

Layout::

    <index_dir>/manifest.json        schema version, current generation, sources, counts
    <index_dir>/gen-000007/          one complete generation of the data files
        issues.jsonl                 one parsed issue (with its articles) per line

A write builds a new generation folder completely, then replaces ``manifest.json`` with
``os.replace`` (atomic on POSIX), and only then removes older generations. A crash at any
point leaves the previous manifest pointing at a complete generation.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.errors import ArchiveQAError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
ISSUES_FILE = "issues.jsonl"
REBUILD_HINT = "重建索引：archive-qa ingest --rebuild 路径…"


@dataclass
class IndexData:
    """Everything the index holds, in memory: parsed issues by source file name."""

    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: str | None = None
    generation: int = 0

    @property
    def article_count(self) -> int:
        return sum(len(issue["articles"]) for issue in self.issues.values())


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to `path` through a temporary file in the same folder and `os.replace`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def load_index(index_dir: Path) -> IndexData:
    """Load the index; an absent index is empty. A broken one raises `ArchiveQAError`."""
    manifest_path = index_dir / MANIFEST
    if not manifest_path.exists():
        return IndexData()
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArchiveQAError(
            f"索引清单损坏（{exc}）。{REBUILD_HINT}", source=str(manifest_path)
        ) from exc
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArchiveQAError(
            f"索引格式版本为 {version}，本程序需要 {SCHEMA_VERSION}。{REBUILD_HINT}",
            source=str(index_dir),
        )
    generation_dir = index_dir / manifest.get("generation_dir", "")
    issues_path = generation_dir / ISSUES_FILE
    issues: dict[str, dict[str, Any]] = {}
    try:
        with issues_path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    issue = json.loads(line)
                    issues[issue["file"]] = issue
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise ArchiveQAError(
            f"索引数据损坏或缺失（{exc}）。{REBUILD_HINT}", source=str(issues_path)
        ) from exc
    expected = set(manifest.get("sources", {}))
    if expected != set(issues):
        raise ArchiveQAError(f"索引清单与数据不一致。{REBUILD_HINT}", source=str(index_dir))
    return IndexData(issues, manifest.get("created"), int(manifest.get("generation", 0)))


def save_index(index_dir: Path, data: IndexData) -> None:
    """Write `data` as a new generation, then switch the manifest to it atomically."""
    index_dir.mkdir(parents=True, exist_ok=True)
    generation = data.generation + 1
    final_dir = index_dir / f"gen-{generation:06d}"
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=index_dir))
    try:
        staging.chmod(0o755)
        with (staging / ISSUES_FILE).open("w", encoding="utf-8") as handle:
            for name in sorted(data.issues):
                handle.write(json.dumps(data.issues[name], ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if final_dir.exists():  # left over from a crash after staging, before the manifest
            shutil.rmtree(final_dir)
        os.replace(staging, final_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    now = _now()
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "generation": generation,
        "generation_dir": final_dir.name,
        "created": data.created or now,
        "updated": now,
        "counts": {"sources": len(data.issues), "articles": data.article_count},
        "sources": {
            name: {
                "content_hash": issue["content_hash"],
                "paper": issue.get("paper"),
                "date": issue.get("date"),
                "articles": len(issue["articles"]),
            }
            for name, issue in sorted(data.issues.items())
        },
    }
    write_json_atomic(index_dir / MANIFEST, manifest)
    data.generation, data.created = generation, manifest["created"]
    for old in index_dir.glob("gen-*"):
        if old != final_dir:
            shutil.rmtree(old, ignore_errors=True)
