"""Hybrid retrieval: dense (e5) and BM25 (jieba words + bigrams), fused.

The candidates come from a `PassageStore` (FAISS + bm25s on disk, or Milvus); fusion, the
date boost and coverage are computed here, the same for both. Each result keeps its fused score (which orders the list), the dense cosine, the BM25 score
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

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.chunk import Passage
from index.errors import ArchiveQAError
from index.store_api import Filters, PassageStore, StoredPassage
from index.tokenize import tokenize
from qa.dates import DateMention, find_dates


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
    """LangChain retriever over a `PassageStore`; see the module docstring."""

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
        store: PassageStore = self.index
        k = k or self.k
        filters = filters or self.filters
        if not store.passage_count:
            return RetrievalResult([], seconds=time.perf_counter() - start)
        query_tokens = tokenize(query)
        query_vector = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)
        # The masthead (dates, numbers, hotline) looks like every dated question to the
        # dense model; it is found by its exact words, through BM25 only.
        dense_order = store.dense_search(query_vector, self.depth, filters, ("masthead",))
        bm25_order = store.lexical_search(query_tokens, self.depth, filters)
        candidates = list(dict.fromkeys(dense_order + bm25_order))
        stored = store.fetch(candidates)
        bm25_scores = store.lexical_scores(query_tokens, stored)
        ordered = sorted(candidates)  # one product in key order, as FAISS rows always were
        products = (
            np.vstack([stored[key].vector for key in ordered]) @ query_vector if ordered else []
        )
        dense_scores = {key: float(score) for key, score in zip(ordered, products, strict=True)}
        fused = self._fuse(dense_order, bm25_order, dense_scores, bm25_scores)
        dates = find_dates(query, self.today)
        if dates and self.date_boost:
            for key in fused:
                match = max(mention.matches(stored[key].passage.date) for mention in dates)
                fused[key] *= 1 + self.date_boost * match / 2
        coverage_weights = self.term_weights(set(query_tokens))
        dense_rank = {key: rank for rank, key in enumerate(dense_order, start=1)}
        bm25_rank = {key: rank for rank, key in enumerate(bm25_order, start=1)}
        best = sorted(fused, key=lambda key: fused[key], reverse=True)[:k]
        hits = [
            Hit(
                passage=stored[key].passage,
                score=fused[key],
                dense_score=dense_scores[key],
                bm25_score=bm25_scores[key],
                coverage=_coverage(coverage_weights, stored[key]),
                dense_rank=dense_rank.get(key),
                bm25_rank=bm25_rank.get(key),
            )
            for key in best
        ]
        return RetrievalResult(hits, dates, time.perf_counter() - start)

    def _fuse(
        self,
        dense_order: list[int],
        bm25_order: list[int],
        dense_scores: dict[int, float],
        bm25_scores: dict[int, float],
    ) -> dict[int, float]:
        """Fused score of every candidate."""
        use_dense = self.mode in ("hybrid", "dense")
        use_bm25 = self.mode in ("hybrid", "bm25")
        fused: dict[int, float] = {}
        if self.fusion == "rrf":
            if use_dense:
                for rank, key in enumerate(dense_order, start=1):
                    fused[key] = fused.get(key, 0.0) + self.dense_weight / (self.rrf_k + rank)
            if use_bm25:
                for rank, key in enumerate(bm25_order, start=1):
                    fused[key] = fused.get(key, 0.0) + self.bm25_weight / (self.rrf_k + rank)
            return fused
        keys = sorted(set(dense_order if use_dense else []) | set(bm25_order if use_bm25 else []))
        if not keys:
            return fused
        dense = np.array([dense_scores[key] for key in keys]) if use_dense else np.zeros(len(keys))
        lexical = np.array([bm25_scores[key] for key in keys]) if use_bm25 else np.zeros(len(keys))
        combined = self.dense_weight * _min_max(dense) + self.bm25_weight * _min_max(lexical)
        return {key: float(score) for key, score in zip(keys, combined, strict=True)}

    def term_weights(self, query_tokens: set[str]) -> dict[str, float]:
        """IDF weight of each question token over the indexed passages."""
        store: PassageStore = self.index
        total = store.passage_count
        frequency = store.document_frequency(query_tokens)
        return {t: math.log(1 + total / (1 + frequency.get(t, 0))) for t in query_tokens}


def _coverage(weights: dict[str, float], stored: StoredPassage) -> float:
    """Comparable across questions (unlike BM25): how much of what the question asks
    about, weighted by rarity, the passage contains."""
    if not weights:
        return 0.0
    present = set(stored.tokens)
    return sum(w for t, w in weights.items() if t in present) / sum(weights.values())


def _min_max(values: np.ndarray) -> np.ndarray:
    low, high = float(np.min(values)), float(np.max(values))
    return (values - low) / (high - low) if high > low else np.zeros_like(values, dtype=np.float64)


def build_retriever(
    index: PassageStore, embeddings: Embeddings, settings: Any, **overrides: Any
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
    from index.stores import open_store
    from qa.embed import load_embeddings

    data = open_store(settings.store_options())
    if not data.passage_count:
        raise ArchiveQAError(
            "索引为空，请先导入：archive-qa ingest seeds/", source=settings.store_options().label
        )
    embeddings = load_embeddings(settings)
    data.check_model(embeddings.model_id)
    return build_retriever(data, embeddings, settings, **overrides)
