"""Benchmarks that print figures (tests check behaviour; these check numbers)."""

from __future__ import annotations

import hashlib
import json
import resource
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import ArchiveQAError
from index.ingest import parse_files
from qa.dates import parse_loose_date
from qa.settings import Settings


@dataclass
class ParseBenchResult:
    files: int
    articles: int
    characters: int
    seconds: float
    peak_rss_mb: float

    def lines(self) -> list[str]:
        return [
            f"文件数 files            {self.files}",
            f"文章数 articles         {self.articles}",
            f"耗时 seconds            {self.seconds:.2f}",
            f"文件/秒 files/s         {self.files / self.seconds:.1f}",
            f"字符/秒 chars/s         {self.characters / self.seconds:,.0f}",
            f"峰值内存 peak RSS (MB)  {self.peak_rss_mb:.0f}",
        ]


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def bench_parse(source_dir: Path, files: int, settings: Settings) -> ParseBenchResult:
    """Parse `files` issue files (the issues in `source_dir`, repeated under new names)."""
    sources = sorted(
        p for p in source_dir.iterdir() if p.suffix.lower() in settings.supported_extensions
    )
    if not sources:
        raise ArchiveQAError("没有可用于测速的报纸文件", source=str(source_dir))
    workdir = Path(tempfile.mkdtemp(prefix="archive-qa-bench-"))
    try:
        for number in range(files):
            source = sources[number % len(sources)]
            shutil.copyfile(source, workdir / f"{number:05d}_{source.name}")
        start = time.perf_counter()
        report = parse_files([workdir], settings.read_options(), progress=True)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ParseBenchResult(
        files=len(report.issues),
        articles=report.article_count,
        characters=sum(len(issue.cleaned_text) for issue in report.issues),
        seconds=seconds,
        peak_rss_mb=peak_rss_mb(),
    )


def current_rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _crud_on_milvus(
    loaded: Any, questions: list[dict[str, Any]], settings: Settings, embeddings: Any, workdir: Path
) -> dict[str, Any]:
    """The FAISS index's passages and vectors copied into Milvus, and the questions again."""
    from index.milvus_store import MilvusStore, release
    from qa.retrieve import build_retriever

    milvus_settings = settings.model_copy(update={"store": "milvus", "index_dir": workdir})
    rss_before = current_rss_mb()
    start = time.perf_counter()
    target = MilvusStore.connect(milvus_settings.store_options())
    target.commit(loaded.export())
    seconds = time.perf_counter() - start
    scores = score_crud(questions, build_retriever(target, embeddings, settings))
    uri = milvus_settings.milvus_uri_resolved
    release(milvus_settings.store_options().milvus)
    return {
        "uri": uri,
        "passages": target.passage_count,
        "insert_seconds": round(seconds, 1),
        "insert_passages_per_s": round(target.passage_count / seconds, 1),
        **scores,
        "rss_added_mb": round(current_rss_mb() - rss_before, 0),
        "peak_rss_mb": round(peak_rss_mb(), 0),  # of the whole run, FAISS part included
        "disk_mb": round(_size_mb(Path(uri)), 1) if Path(uri).exists() else None,
    }


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1024 / 1024


# ---------------------------------------------------------------- CRUD retrieval benchmark

CRUD_MODES = ("hybrid", "bm25", "dense")


def crud_issues(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """CRUD documents as one-article "issues", so they go through the same chunk/index path."""
    issues = {}
    for doc in docs:
        text = doc["text"].strip()
        date = parse_loose_date(doc.get("time"))
        article = {
            "id": hashlib.sha1(doc["id"].encode()).hexdigest()[:16],
            "title": doc.get("title") or "",
            "text": text,
            "paper": doc.get("source"),
            "date": date,
            "date_inferred": False,
        }
        issues[doc["id"]] = {
            "file": doc["id"],
            "content_hash": hashlib.sha256(text.encode()).hexdigest(),
            "paper": doc.get("source"),
            "date": date,
            "articles": [article],
        }
    return issues


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise ArchiveQAError("基准数据不存在（需要 ../shared/bench/crud）", source=str(path))
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def select_docs(
    docs: list[dict[str, Any]], questions: list[dict[str, Any]], limit: int
) -> list[dict[str, Any]]:
    """All evidence documents, then the others in file order, up to `limit` documents."""
    evidence = {doc_id for question in questions for doc_id in question["evidence"]}
    chosen = [doc for doc in docs if doc["id"] in evidence]
    chosen += [doc for doc in docs if doc["id"] not in evidence][: max(limit - len(chosen), 0)]
    return chosen[: max(limit, len(chosen))]


def score_crud(questions: list[dict[str, Any]], retriever: Any) -> dict[str, float]:
    """hit@1, hit@5, MRR@10 by evidence document, and retrieval latency."""
    hit1 = hit5 = reciprocal = 0.0
    latencies = []
    for question in questions:
        result = retriever.search(question["question"], k=10)
        latencies.append(result.seconds * 1000)
        evidence = set(question["evidence"])
        rank = next(
            (
                n
                for n, hit in enumerate(result.hits, start=1)
                if hit.passage.source_file in evidence
            ),
            None,
        )
        hit1 += rank == 1
        hit5 += rank is not None and rank <= 5
        reciprocal += 1 / rank if rank else 0.0
    n = len(questions)
    return {
        "hit@1": round(hit1 / n, 4),
        "hit@5": round(hit5 / n, 4),
        "mrr@10": round(reciprocal / n, 4),
        "latency_p50_ms": round(statistics.median(latencies), 2),
        "latency_p95_ms": round(statistics.quantiles(latencies, n=20, method="inclusive")[18], 2),
    }


def bench_crud(
    crud_dir: Path,
    limit: int,
    settings: Settings,
    embeddings: Any,
    keep_index: Path | None = None,
    store: str = "faiss",
) -> dict[str, Any]:
    """Index CRUD documents into a fresh temporary index and measure ingest and retrieval.
    With ``keep_index`` the index is kept in that folder (replacing one there), so that
    answers can be evaluated over it (``ARCHIVE_QA_INDEX_DIR=... archive-qa eval``).
    With ``store="milvus"`` the same passages and vectors are also copied into Milvus
    (``ARCHIVE_QA_MILVUS_URI``, default a Milvus Lite file beside the index) and measured
    there beside FAISS."""
    from index.build import plan_update
    from index.store import IndexData, load_index
    from qa.retrieve import build_retriever

    questions = _read_jsonl(crud_dir / "qa_1doc.jsonl")
    docs = select_docs(_read_jsonl(crud_dir / "docs.jsonl"), questions, limit)
    workdir = Path(tempfile.mkdtemp(prefix="archive-qa-crud-"))
    try:
        data = IndexData(folder=workdir)
        start = time.perf_counter()
        data.commit(plan_update(data, crud_issues(docs), embeddings, settings.chunk_options()))
        ingest_seconds = time.perf_counter() - start
        del data  # measure retrieval on the index as loaded from disk, not on a second copy
        size_mb = _size_mb(workdir)
        loaded = load_index(workdir)
        summary: dict[str, Any] = {
            "docs": len(docs),
            "questions": len(questions),
            "passages": len(loaded.passages),
            "ingest_seconds": round(ingest_seconds, 1),
            "ingest_passages_per_s": round(len(loaded.passages) / ingest_seconds, 1),
            "index_size_mb": round(size_mb, 1),
            "embedding_model": embeddings.model_id,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
        }
        for mode in CRUD_MODES:
            retriever = build_retriever(loaded, embeddings, settings, mode=mode)
            scores = score_crud(questions, retriever)
            if mode == "hybrid":
                summary.update(scores)
            else:
                summary[f"{mode}_only"] = scores
        summary["peak_rss_mb"] = round(peak_rss_mb(), 0)
        if store == "milvus":
            summary["milvus"] = _crud_on_milvus(loaded, questions, settings, embeddings, workdir)
            for metric in ("hit@5", "mrr@10"):
                summary["milvus"][f"{metric}_minus_faiss"] = round(
                    summary["milvus"][metric] - summary[metric], 4
                )
        if keep_index is not None:
            shutil.rmtree(keep_index, ignore_errors=True)
            keep_index.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(workdir, keep_index)
        return summary
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
