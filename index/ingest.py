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

from index.build import model_id_of, refresh_passages, remove_sources
from index.parse import parse_issue
from index.schema import Issue
from index.store import IndexData, load_index, newest_generation, save_index
from index.writer_lock import writer_lock
from qa.errors import ArchiveQAError
from qa.settings import Settings

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


def _parse_one(path: Path, settings: Settings) -> Issue | str:
    """Parse one file in a worker; a user-caused failure comes back as its message."""
    try:
        return parse_issue(path, settings)
    except ArchiveQAError as exc:
        return exc.message


def parse_files(paths: list[Path], settings: Settings, *, progress: bool = True) -> IngestReport:
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
            results = pool.map(_parse_one, files, repeat(settings), chunksize=16)
        else:
            results = map(_parse_one, files, repeat(settings))
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
    settings: Settings,
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
    with writer_lock(settings.index_dir, action, wait=wait):
        return _ingest(paths, settings, embeddings, rebuild=rebuild, progress=progress)


def remove(
    settings: Settings, names: list[str], *, action: str = "archive-qa remove", wait: bool = False
) -> list[str]:
    """Delete sources from every part of the index; returns the names not found."""
    with writer_lock(settings.index_dir, action, wait=wait):
        data = load_index(settings.index_dir)
        missing = remove_sources(data, names)
        if len(missing) < len(set(names)):
            save_index(settings.index_dir, data)
        return missing


def _ingest(
    paths: list[Path],
    settings: Settings,
    embeddings: Embeddings,
    *,
    rebuild: bool,
    progress: bool,
) -> IngestReport:
    if rebuild:
        data = _previous_for_reuse(settings, model_id_of(embeddings))
        changed = {passage.source_file for passage in data.passages}
        data.issues = {}
    else:
        data = load_index(settings.index_dir)
        data.check_model(model_id_of(embeddings))
        changed = set()
    report = parse_files(paths, settings, progress=progress)
    for issue in report.issues:
        data.issues[issue.source_file] = issue.to_dict()
        changed.add(issue.source_file)
    if changed or rebuild:
        report.embedded = refresh_passages(
            data,
            changed,
            embeddings,
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            bm25_params=(settings.bm25_k1, settings.bm25_b),
            progress=progress,
        )
        save_index(settings.index_dir, data)
    ingested = {issue.source_file for issue in report.issues}
    report.passage_count = sum(1 for passage in data.passages if passage.source_file in ingested)
    return report


def _previous_for_reuse(settings: Settings, model_id: str) -> IndexData:
    """The old index as a source of vectors for a rebuild; empty when unusable."""
    try:
        previous = load_index(settings.index_dir)
    except ArchiveQAError:
        return IndexData(generation=newest_generation(settings.index_dir))
    if previous.embedding_model != model_id:
        return IndexData(generation=previous.generation)
    return previous
