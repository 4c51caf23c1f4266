"""Ingest files into the index: walk paths, parse each issue, keep going past bad files."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from index.build import model_id_of, plan_update
from index.errors import ArchiveQAError
from index.options import IndexOptions, ReadOptions, StoreOptions
from index.parse import parse_issue
from index.schema import Issue
from index.store_api import SourceUpdate
from index.stores import open_store, open_store_for_rebuild
from index.writer_lock import writer_lock

log = logging.getLogger(__name__)
PARALLEL_MIN_FILES = 64  # below this, starting worker processes costs more than it saves


@dataclass
class IngestReport:
    """What one ingest run did: issues read, and files skipped with the reason."""

    issues: list[Issue] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, Chinese reason)
    passage_count: int = 0  # passages of the ingested issues
    embedded: int = 0  # passages that needed new vectors

    @property
    def article_count(self) -> int:
        return sum(len(issue.articles) for issue in self.issues)


def collect_files(paths: list[Path], report: IngestReport) -> list[Path]:
    """Files named directly, plus every non-hidden file below named folders, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif path.exists():
            files.append(path)
        else:
            report.skipped.append((str(path), "路径不存在"))
    return files


def _parse_one(path: Path, options: ReadOptions) -> Issue | str:
    """Parse one file in a worker; a user-caused failure comes back as its message."""
    try:
        return parse_issue(path, options)
    except ArchiveQAError as exc:
        return exc.message


def parse_files(paths: list[Path], options: ReadOptions, *, progress: bool = True) -> IngestReport:
    """Parse every file below `paths`; bad files are recorded in the report, not raised.

    Large batches are parsed in one process per core; order and results are the same.
    """
    report = IngestReport()
    files: list[Path] = []
    seen: set[str] = set()
    for path in collect_files(paths, report):
        if path.name in seen:
            report.skipped.append(
                (str(path), "本次已导入同名文件（索引按文件名区分来源），请改名后再导入")
            )
        else:
            seen.add(path.name)
            files.append(path)
    workers = min(os.cpu_count() or 1, 8) if len(files) >= PARALLEL_MIN_FILES else 1
    bar = tqdm(total=len(files), desc="解析", unit="文件", disable=not progress or len(files) < 2)
    with ExitStack() as stack:
        if workers > 1:
            pool = stack.enter_context(ProcessPoolExecutor(workers))
            results = pool.map(_parse_one, files, repeat(options), chunksize=16)
        else:
            results = map(_parse_one, files, repeat(options))
        for path, result in zip(files, results, strict=True):
            bar.update()
            if isinstance(result, str):
                report.skipped.append((path.name, result))
                log.warning("跳过 %s：%s", path, result)
            else:
                report.issues.append(result)
    bar.close()
    return report


def ingest(
    paths: list[Path],
    options: IndexOptions,
    embeddings: Embeddings,
    *,
    rebuild: bool = False,
    progress: bool = True,
    action: str = "archive-qa ingest",
    wait: bool = False,
) -> IngestReport:
    """Parse files and store them in the index; a re-ingested file replaces its old version.

    With `rebuild` the index starts over, but vectors of unchanged passages are reused.
    Holds the index's writer lock throughout (``action`` names this writer to others;
    ``wait`` queues behind a running one instead of refusing).
    """
    with writer_lock(options.store.index_dir, action, wait=wait):
        return _ingest(paths, options, embeddings, rebuild=rebuild, progress=progress)


def remove(
    options: StoreOptions,
    names: list[str],
    *,
    action: str = "archive-qa remove",
    wait: bool = False,
) -> list[str]:
    """Delete sources from every part of the index; returns the names not found."""
    with writer_lock(options.index_dir, action, wait=wait):
        store = open_store(options)
        present = set(names) & set(store.issues)
        if present:
            store.commit(SourceUpdate(removed=present))
        return sorted(set(names) - present)


def _ingest(
    paths: list[Path],
    options: IndexOptions,
    embeddings: Embeddings,
    *,
    rebuild: bool,
    progress: bool,
) -> IngestReport:
    store = open_store_for_rebuild(options.store) if rebuild else open_store(options.store)
    if not rebuild:
        store.check_model(model_id_of(embeddings))  # before the parsing, not after
    report = parse_files(paths, options.read, progress=progress)
    issues = {issue.source_file: issue.to_dict() for issue in report.issues}
    if issues or rebuild:
        update = plan_update(
            store, issues, embeddings, options.chunk, rebuild=rebuild, progress=progress
        )
        store.commit(update)
        report.embedded = update.embedded
        report.passage_count = sum(1 for p in update.passages if p.source_file in issues)
    return report
