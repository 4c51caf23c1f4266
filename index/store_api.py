"""What `qa/` asks of an index, whichever store holds it.

Two stores implement `PassageStore`: the FAISS + bm25s generation folder (`index.store.IndexData`,
the default) and Milvus (`index.milvus_store.MilvusStore`, for archives beyond one machine).
Retrieval, fusion, date boost and coverage stay in `qa/retrieve.py`; a store only finds
candidates (dense and BM25, with the paper/date filters applied inside the search), scores
given candidates, and hands back passages with their tokens and vectors. Keys are opaque
integers, valid until the store is written again.

Writes go through `SourceUpdate`: the sources it replaces or removes change together, or not
at all (a crash leaves the old or the new state).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from index.chunk import Passage


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


@dataclass(frozen=True)
class StoredPassage:
    """A passage as stored: its BM25 tokens and its vector beside it."""

    passage: Passage
    tokens: list[str]
    vector: np.ndarray


@dataclass
class SourceUpdate:
    """One atomic write: sources (re)placed with their passages, sources removed.

    ``passages[i]``, ``tokens[i]`` (space-joined) and ``vectors[i]`` describe one passage; the
    passages are those of the sources in ``issues`` and of no other source.
    """

    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    removed: set[str] = field(default_factory=set)
    embedding_model: str | None = None
    chunker: dict[str, Any] = field(default_factory=dict)
    bm25_params: tuple[float, float] | None = None  # k1, b of the passages written
    embedded: int = 0  # passages that needed new vectors

    @property
    def empty(self) -> bool:
        return not self.issues and not self.removed


class PassageStore(Protocol):
    """The reading side of an index (see the module docstring)."""

    issues: dict[str, dict[str, Any]]  # source file -> parsed issue with its articles
    embedding_model: str | None
    chunker: dict[str, Any]

    @property
    def passage_count(self) -> int: ...

    @property
    def article_count(self) -> int: ...

    def check_model(self, model_id: str) -> None:
        """Refuse to mix vectors of two embedding models (raises ArchiveQAError)."""

    def source_passage_counts(self) -> dict[str, int]: ...

    def dense_search(
        self, vector: np.ndarray, depth: int, filters: Filters, skip_kinds: tuple[str, ...]
    ) -> list[int]:
        """Keys of the `depth` nearest passages allowed by `filters`, nearest first."""

    def lexical_search(self, tokens: list[str], depth: int, filters: Filters) -> list[int]:
        """Keys of the `depth` best BM25 passages (score > 0) allowed by `filters`."""

    def lexical_scores(
        self, tokens: list[str], candidates: dict[int, StoredPassage]
    ) -> dict[int, float]:
        """BM25 scores of the fetched `candidates` for the query `tokens` (0 where no token
        occurs)."""

    def fetch(self, keys: list[int]) -> dict[int, StoredPassage]: ...

    def document_frequency(self, tokens: set[str]) -> dict[str, int]:
        """In how many passages each token occurs."""

    def article_passages(self, article_id: str) -> list[Passage]:
        """An article's passages in printed order (the model reads whole articles)."""

    def passages_of(self, sources: set[str]) -> list[StoredPassage]:
        """Every passage of `sources` (their vectors are reused when a source is re-chunked)."""

    def export(self) -> SourceUpdate:
        """Everything the store holds, as one write (`index.migrate` copies it)."""

    def commit(self, update: SourceUpdate) -> None:
        """Write `update` atomically: afterwards readers see all of it, before none of it."""
