"""Restore a damaged index from what it still holds: `archive-qa check --repair`.

Every generation folder keeps the parsed issues (``issues.jsonl``: articles with their
provenance) beside the derived files (passages, vectors, BM25). When a derived file or the
manifest is damaged, the issues are enough to chunk, embed and index again; an issue whose
line is cut or missing is re-read from its original file (the path is in its line and in
the manifest) when that still exists, and otherwise named as lost, to be ingested again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from index.build import model_id_of, plan_update
from index.errors import ArchiveQAError
from index.options import IndexOptions
from index.parse import parse_issue
from index.store import (
    ISSUES_FILE,
    MANIFEST,
    IndexData,
    load_index,
    newest_generation,
)
from index.stores import open_store
from index.writer_lock import writer_lock

log = logging.getLogger(__name__)


@dataclass
class RepairReport:
    problem: str | None  # what was wrong; None: the index was sound
    sources: list[str] = field(default_factory=list)  # sources in the repaired index
    lost: list[str] = field(default_factory=list)  # sources the manifest named, not restored
    reparsed: list[str] = field(default_factory=list)  # read again from the original file


def repair_index(
    options: IndexOptions, embeddings: Embeddings, *, wait: bool = False
) -> RepairReport:
    """Check the index ``options`` name; when it does not load, rebuild it from the issues
    its generation folders still hold."""
    index_dir = options.store.index_dir
    with writer_lock(index_dir, "archive-qa check --repair", wait=wait):
        if options.store.kind == "milvus":  # no files to repair: drop what a killed write left
            store = open_store(options.store)
            store.discard_leftovers()
            return RepairReport(None, sorted(store.issues))
        try:
            data = load_index(index_dir)
            data.check_model(model_id_of(embeddings))
            return RepairReport(None, sorted(data.issues))
        except ArchiveQAError as exc:
            problem = exc.message
        named = _manifest_sources(index_dir)
        issues, broken = _readable_issues(index_dir)
        for name, path in named.items():
            if name not in issues and path:
                broken.setdefault(name, path)
        report = RepairReport(problem)
        for name, path in broken.items():
            try:
                issue = parse_issue(Path(path), options.read)
            except (ArchiveQAError, OSError) as exc:
                log.warning("无法重新读取 %s：%s", path, exc)
                continue
            issues[name] = issue.to_dict()
            report.reparsed.append(name)
        data = IndexData(generation=newest_generation(index_dir), folder=index_dir)
        data.commit(plan_update(data, issues, embeddings, options.chunk, rebuild=True))
        report.sources = sorted(issues)
        report.lost = sorted((set(named) | set(broken)) - set(issues))
        return report


def _manifest_sources(index_dir: Path) -> dict[str, str | None]:
    """The sources the manifest names, with their original paths (None where unknown)."""
    try:
        manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
        return {name: entry.get("path") for name, entry in manifest.get("sources", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _readable_issues(index_dir: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Issues from the newest generation folder that has any, line by line. Returns the
    readable issues and, for lines cut or garbled, the source path when it can still be
    made out."""
    for folder in sorted(index_dir.glob("gen-*"), reverse=True):
        path = folder / ISSUES_FILE
        if not path.is_file():
            continue
        issues: dict[str, dict[str, Any]] = {}
        broken: dict[str, str] = {}
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                issue = json.loads(line)
                issues[issue["file"]] = issue
            except (ValueError, KeyError, TypeError):
                if (found := _source_path_in(line)) is not None:
                    broken[Path(found).name] = found
        if issues or broken:
            return issues, broken
    return {}, {}


def _source_path_in(line: str) -> str | None:
    marker = '"path": "'
    start = line.find(marker)
    if start < 0:
        return None
    end = line.find('"', start + len(marker))
    return line[start + len(marker) : end] if end > 0 else None
