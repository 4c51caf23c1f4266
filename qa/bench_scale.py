"""Scale run: an index of N passages built from a CRUD index without embedding anything.

The CRUD passages, tokens and vectors are repeated until N: each copy gets its own sources,
one of ten papers and a year of its own, and its vectors a small perturbation (Gaussian,
sigma 0.01, renormalised), so copies are near neighbours but not duplicates. Measured per
store: insert (commit) rate, query latency p50/p95 with and without a paper + year filter,
resident memory added and disk size.
"""

from __future__ import annotations

import math
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ArchiveQAError
from index.store import IndexData, load_index
from index.store_api import SourceUpdate
from qa.bench import _read_jsonl, _size_mb, current_rss_mb, peak_rss_mb
from qa.retrieve import Filters, build_retriever
from qa.settings import Settings

PAPERS = tuple(f"规模测试报{n}" for n in range(10))
PERTURBATION = 0.01


def scaled_update(base: IndexData, size: int, seed: int = 0) -> SourceUpdate:
    """``size`` passages from ``base`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    count = len(base.passages)
    passages, tokens, blocks, issues = [], [], [], {}
    for copy in range(math.ceil(size / count)):
        take = min(count, size - copy * count)
        paper, year_shift = PAPERS[copy % len(PAPERS)], copy % 20
        for passage in base.passages[:take]:
            source = f"{passage.source_file}#{copy}"
            date = _shift_year(passage.date, year_shift)
            passages.append(
                replace(
                    passage,
                    id=f"{passage.id}-{copy}",
                    article_id=f"{passage.article_id}-{copy}",
                    source_file=source,
                    paper=paper,
                    date=date,
                )
            )
            if source not in issues:
                issues[source] = {
                    "file": source,
                    "content_hash": source,
                    "paper": paper,
                    "date": date,
                    "articles": [],
                }
        tokens.extend(base.tokens[:take])
        block = base.vectors[:take] + rng.normal(0, PERTURBATION, (take, base.vectors.shape[1]))
        blocks.append((block / np.linalg.norm(block, axis=1, keepdims=True)).astype(np.float32))
    return SourceUpdate(
        issues=issues,
        passages=passages,
        tokens=tokens,
        vectors=np.vstack(blocks),
        embedding_model=base.embedding_model,
        chunker=base.chunker,
        bm25_params=base.bm25_params,
    )


def _shift_year(date: str | None, years: int) -> str | None:
    if not date or not date[:4].isdigit():
        return date
    return f"{int(date[:4]) - years:04d}{date[4:]}"


def bench_scale(
    crud_index: Path,
    crud_dir: Path,
    size: int,
    store: str,
    settings: Settings,
    embeddings: Any,
    queries: int,
) -> dict[str, Any]:
    """Build a ``size``-passage index in ``store`` in a temporary folder and measure it."""
    base = load_index(crud_index)
    if not base.passages:
        raise ArchiveQAError(
            "需要先建好 CRUD 索引：archive-qa bench crud --keep-index 目录", source=str(crud_index)
        )
    questions = [q["question"] for q in _read_jsonl(crud_dir / "qa_1doc.jsonl")][:queries]
    update = scaled_update(base, size)
    del base
    workdir = Path(tempfile.mkdtemp(prefix="archive-qa-scale-"))
    scaled = settings.model_copy(update={"index_dir": workdir, "store": store, "milvus_uri": ""})
    try:
        rss_before = current_rss_mb()
        start = time.perf_counter()
        if store == "milvus":
            from index.milvus_store import MilvusStore

            target: Any = MilvusStore.connect(scaled.store_options())
        else:
            target = IndexData(folder=workdir)
        target.commit(update)
        insert_seconds = time.perf_counter() - start
        del update
        if store == "faiss":  # what the app holds: the index as read from disk
            del target
            target = load_index(workdir)
        retriever = build_retriever(target, embeddings, settings)
        retriever.search(questions[0])  # warm-up
        year_filter = Filters(papers=(PAPERS[1],), date_from="2019-01-01", date_to="2022-12-31")
        plain = _latencies(retriever, questions, Filters())
        filtered = _latencies(retriever, questions, year_filter)
        return {
            "store": store,
            "passages": target.passage_count,
            "insert_seconds": round(insert_seconds, 1),
            "insert_passages_per_s": round(target.passage_count / insert_seconds, 1),
            "query_p50_ms": plain[0],
            "query_p95_ms": plain[1],
            "filtered_query_p50_ms": filtered[0],
            "filtered_query_p95_ms": filtered[1],
            "rss_added_mb": round(current_rss_mb() - rss_before, 0),
            "peak_rss_mb": round(peak_rss_mb(), 0),
            "disk_mb": round(_size_mb(workdir), 1),
            "queries": len(questions),
        }
    finally:
        if store == "milvus":
            from index.milvus_store import release

            release(scaled.store_options().milvus)
        shutil.rmtree(workdir, ignore_errors=True)


def _latencies(retriever: Any, questions: list[str], filters: Filters) -> tuple[float, float]:
    seconds = []
    for question in questions:
        start = time.perf_counter()
        retriever.search(question, k=10, filters=filters)
        seconds.append((time.perf_counter() - start) * 1000)
    p95 = statistics.quantiles(seconds, n=20, method="inclusive")[18]
    return round(statistics.median(seconds), 1), round(p95, 1)
