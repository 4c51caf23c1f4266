"""Copy an index between the FAISS folder and Milvus without embedding anything again."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from index.errors import ArchiveQAError
from index.options import StoreKind, StoreOptions
from index.store_api import Filters, PassageStore
from index.stores import open_store, open_store_for_rebuild
from index.writer_lock import writer_lock

SAMPLE_SEARCHES = 20  # passage vectors searched in both stores: same five nearest


@dataclass
class MigrateReport:
    source: str
    target: str
    sources: int
    articles: int
    passages: int
    seconds: float


def migrate(options: StoreOptions, to: StoreKind, *, wait: bool = False) -> MigrateReport:
    """Copy the index of the other store into store ``to`` (replacing what ``to`` holds),
    then check that sources, articles and passages match and that sample searches find
    the same passages. The copy is one atomic write: interrupted, ``to`` keeps its old state."""
    start = time.perf_counter()
    source_options = options.of_kind("faiss" if to == "milvus" else "milvus")
    target_options = options.of_kind(to)
    with writer_lock(options.index_dir, f"archive-qa migrate --to {to}", wait=wait):
        source = open_store(source_options)
        if not source.passage_count:
            raise ArchiveQAError("要迁移的索引为空", source=source_options.label)
        update = source.export()
        target = open_store_for_rebuild(target_options)
        update.removed = set(target.issues) - set(update.issues)
        target.commit(update)
        copy = open_store(target_options)
        _check_copy(source, copy, target_options.label)
    return MigrateReport(
        source_options.label,
        target_options.label,
        len(copy.issues),
        copy.article_count,
        copy.passage_count,
        round(time.perf_counter() - start, 1),
    )


def _check_copy(source: PassageStore, copy: PassageStore, label: str) -> None:
    """Counts per source, articles, and a sample of dense searches must agree."""
    problems = []
    if source.source_passage_counts() != copy.source_passage_counts():
        problems.append("各来源的段落数")
    if source.article_count != copy.article_count or set(source.issues) != set(copy.issues):
        problems.append("来源与文章数")
    stored = source.passages_of(set(source.issues))
    step = max(1, len(stored) // SAMPLE_SEARCHES)
    for sample in stored[::step][:SAMPLE_SEARCHES]:
        if _nearest(source, sample.vector) != _nearest(copy, sample.vector):
            problems.append(f"检索抽样（段落 {sample.passage.id} 的近邻）")
            break
    if problems:
        raise ArchiveQAError(f"迁移后核对不符：{'、'.join(problems)}", source=label)


def _nearest(store: PassageStore, vector: np.ndarray, depth: int = 5) -> set[str]:
    keys = store.dense_search(np.asarray(vector, dtype=np.float32), depth, Filters(), ())
    return {stored.passage.id for stored in store.fetch(keys).values()}
