"""Hybrid retrieval: dense (FAISS, e5) and BM25 (jieba words + bigrams), fused.

Each result keeps its fused score (which orders the list), the dense cosine, the BM25 score
and the question-word coverage (the last two are comparable across questions, for refusals).
Filters (paper, date range) restrict both rankers before fusion; years and months named in
the question boost passages from matching issues.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from typing import Any

import faiss
import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.chunk import Passage
from index.store import IndexData
from index.tokenize import tokenize
from qa.dates import DateMention, find_dates
from qa.errors import ArchiveQAError


@dataclass(frozen=True)
class Filters:
    """Restrictions a user sets beside the chat."""

    papers: tuple[str, ...] = ()
    date_from: str | None = None  # ISO, inclusive
    date_to: str | None = None

    def allows(self, passage: Passage) -> bool:
        if self.papers and passage.paper not in self.papers:
            return False
        if self.date_from and (not passage.date or passage.date < self.date_from):
            return False
        return not (self.date_to and (not passage.date or passage.date > self.date_to))

    @property
    def active(self) -> bool:
        return bool(self.papers or self.date_from or self.date_to)


@dataclass
class Hit:
    """A retrieved passage with its scores and ranks (1-based; None when not in that list)."""

    passage: Passage
    score: float
    dense_score: float
    bm25_score: float
    coverage: float = 0.0  # IDF-weighted share of the question's words found in the passage
    dense_rank: int | None = None
    bm25_rank: int | None = None


@dataclass
class RetrievalResult:
    hits: list[Hit]
    dates: list[DateMention] = field(default_factory=list)
    seconds: float = 0.0


class HybridRetriever(BaseRetriever):
    """LangChain retriever over an `IndexData`; see the module docstring."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    # No defaults for the tunables: they live in Settings only (build_retriever).
    index: Any
    embeddings: Any
    k: int
    depth: int
    dense_weight: float
    bm25_weight: float
    rrf_k: int
    date_boost: float
    fusion: str  # rrf (reciprocal rank) | convex (weighted min-max normalised scores)
    filters: Filters = Filters()
    today: dt.date | None = None
    mode: str = "hybrid"  # hybrid | dense | bm25 (for measurements)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(
                page_content=hit.passage.text,
                metadata={
                    **hit.passage.to_dict(),
                    "score": hit.score,
                    "dense_score": hit.dense_score,
                    "bm25_score": hit.bm25_score,
                },
            )
            for hit in self.search(query).hits
        ]

    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None
    ) -> RetrievalResult:
        start = time.perf_counter()
        data: IndexData = self.index
        k = k or self.k
        filters = filters or self.filters
        if not data.passages:
            return RetrievalResult([], seconds=time.perf_counter() - start)
        data.ensure_search_indexes()
        allowed = (
            np.fromiter(
                (filters.allows(p) for p in data.passages), dtype=bool, count=len(data.passages)
            )
            if filters.active
            else None
        )
        # The masthead (dates, numbers, hotline) looks like every dated question to the
        # dense model; it is found by its exact words, through BM25 only.
        dense_allowed = allowed
        if data.masthead_mask.any():
            dense_allowed = (
                ~data.masthead_mask if allowed is None else allowed & ~data.masthead_mask
            )
        query_tokens = tokenize(query)
        query_vector, dense_order = self._dense(query, dense_allowed)
        bm25_scores, bm25_order = self._bm25(query_tokens, allowed)
        fused = self._fuse(query_vector, dense_order, bm25_scores, bm25_order)
        dates = find_dates(query, self.today)
        if dates and self.date_boost:
            for row in fused:
                match = max(mention.matches(data.passages[row].date) for mention in dates)
                fused[row] *= 1 + self.date_boost * match / 2
        coverage_weights = self.term_weights(set(query_tokens))
        dense_rank = {row: rank for rank, row in enumerate(dense_order, start=1)}
        bm25_rank = {row: rank for rank, row in enumerate(bm25_order, start=1)}
        best = sorted(fused, key=lambda row: fused[row], reverse=True)[:k]
        hits = [
            Hit(
                passage=data.passages[row],
                score=fused[row],
                dense_score=float(data.vectors[row] @ query_vector),
                bm25_score=float(bm25_scores[row]),
                coverage=self._coverage(coverage_weights, row),
                dense_rank=dense_rank.get(row),
                bm25_rank=bm25_rank.get(row),
            )
            for row in best
        ]
        return RetrievalResult(hits, dates, time.perf_counter() - start)

    def _fuse(
        self,
        query_vector: np.ndarray,
        dense_order: list[int],
        bm25_scores: np.ndarray,
        bm25_order: list[int],
    ) -> dict[int, float]:
        """Fused score of every candidate row."""
        use_dense = self.mode in ("hybrid", "dense")
        use_bm25 = self.mode in ("hybrid", "bm25")
        fused: dict[int, float] = {}
        if self.fusion == "rrf":
            if use_dense:
                for rank, row in enumerate(dense_order, start=1):
                    fused[row] = fused.get(row, 0.0) + self.dense_weight / (self.rrf_k + rank)
            if use_bm25:
                for rank, row in enumerate(bm25_order, start=1):
                    fused[row] = fused.get(row, 0.0) + self.bm25_weight / (self.rrf_k + rank)
            return fused
        data: IndexData = self.index
        rows = sorted(set(dense_order if use_dense else []) | set(bm25_order if use_bm25 else []))
        if not rows:
            return fused
        dense = data.vectors[rows] @ query_vector if use_dense else np.zeros(len(rows))
        lexical = bm25_scores[rows] if use_bm25 else np.zeros(len(rows))
        combined = self.dense_weight * _min_max(dense) + self.bm25_weight * _min_max(lexical)
        return {row: float(score) for row, score in zip(rows, combined, strict=True)}

    def term_weights(self, query_tokens: set[str]) -> dict[str, float]:
        """IDF weight of each question token over the indexed passages."""
        data: IndexData = self.index
        total = len(data.passages)
        return {
            t: math.log(1 + total / (1 + data.document_frequency.get(t, 0))) for t in query_tokens
        }

    def _coverage(self, weights: dict[str, float], row: int) -> float:
        """Comparable across questions (unlike BM25): how much of what the question asks
        about, weighted by rarity, the passage contains."""
        if not weights:
            return 0.0
        present = set(self.index.tokens[row].split())
        return sum(w for t, w in weights.items() if t in present) / sum(weights.values())

    def _dense(self, query: str, allowed: np.ndarray | None) -> tuple[np.ndarray, list[int]]:
        """The query vector and the top `depth` rows from FAISS."""
        data: IndexData = self.index
        vector = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)[None, :]
        params = None
        if allowed is not None:
            ids = np.flatnonzero(allowed).astype(np.int64)
            if not len(ids):
                return vector[0], []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids))
        depth = min(self.depth, len(data.passages))
        _, rows = data.faiss_index.search(vector, depth, params=params)
        return vector[0], [int(r) for r in rows[0] if r >= 0]

    def _bm25(self, tokens: list[str], allowed: np.ndarray | None) -> tuple[np.ndarray, list[int]]:
        data: IndexData = self.index
        if not tokens:
            return np.zeros(len(data.passages), np.float32), []
        scores = np.asarray(data.bm25.get_scores(tokens), dtype=np.float32)
        ranked = scores.copy()
        if allowed is not None:
            ranked[~allowed] = -np.inf
        depth = min(self.depth, len(ranked))
        top = np.argpartition(-ranked, depth - 1)[:depth]
        top = top[np.argsort(-ranked[top], kind="stable")]
        return scores, [int(row) for row in top if ranked[row] > 0]


def _min_max(values: np.ndarray) -> np.ndarray:
    low, high = float(np.min(values)), float(np.max(values))
    return (values - low) / (high - low) if high > low else np.zeros_like(values, dtype=np.float64)


def build_retriever(
    index: IndexData, embeddings: Embeddings, settings: Any, **overrides: Any
) -> HybridRetriever:
    """A retriever configured from settings (weights, depth, k), with optional overrides."""
    options = {
        "k": settings.retrieval_k,
        "depth": settings.retrieval_depth,
        "dense_weight": settings.dense_weight,
        "bm25_weight": settings.bm25_weight,
        "rrf_k": settings.rrf_k,
        "date_boost": settings.date_boost,
        "today": settings.today,
        "fusion": settings.fusion,
    }
    options.update(overrides)
    return HybridRetriever(index=index, embeddings=embeddings, **options)


def open_retriever(settings: Any, **overrides: Any) -> HybridRetriever:
    """Load the index of ``settings`` and its embedding model, checked to match, as a retriever.

    Raises ArchiveQAError when the index is empty or was built with another model.
    """
    from index.store import load_index
    from qa.embed import load_embeddings

    data = load_index(settings.index_dir)
    if not data.passages:
        raise ArchiveQAError(
            "索引为空，请先导入：archive-qa ingest seeds/", source=str(settings.index_dir)
        )
    embeddings = load_embeddings(settings)
    data.check_model(embeddings.model_id)
    return build_retriever(data, embeddings, settings, **overrides)
