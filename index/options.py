"""What the index layer is told: how to read files, how to cut and rank passages, and which
store to open. The caller builds these from its settings (`qa.settings.Settings`), so the
index knows nothing of the web page, the model or the answer path."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

StoreKind = Literal["faiss", "milvus"]


@dataclass(frozen=True)
class ReadOptions:
    """Reading a file into an issue's articles."""

    max_file_mb: float
    supported_extensions: tuple[str, ...]
    min_pdf_chars_per_page: int  # below this a PDF page has no text layer
    known_papers: tuple[str, ...]  # paper names besides the built-in masthead rules
    heading_max_chars: int
    intertitle_min_cohesion: float  # see index.segment


@dataclass(frozen=True)
class ChunkOptions:
    """Cutting articles into passages and ranking them by BM25."""

    chunk_size: int
    chunk_overlap: int
    bm25_k1: float
    bm25_b: float

    @property
    def bm25_params(self) -> tuple[float, float]:
        return (self.bm25_k1, self.bm25_b)


@dataclass(frozen=True)
class MilvusAddress:
    """A Milvus to connect to: ``uri`` as given to the client, ``shown`` without a password."""

    # The URI may carry a password and the token is one: neither appears in a repr or log line.
    uri: str = field(repr=False)
    shown: str
    token: str = field(repr=False)
    collection: str  # prefix of the three collection names
    timeout_s: float


@dataclass(frozen=True)
class StoreOptions:
    """Which store holds the passages. The writer lock lives in ``index_dir`` for both."""

    kind: StoreKind
    index_dir: Path
    milvus: MilvusAddress
    bm25_params: tuple[float, float]

    @property
    def label(self) -> str:
        """The store as messages name it."""
        return f"Milvus {self.milvus.shown}" if self.kind == "milvus" else f"FAISS {self.index_dir}"

    def of_kind(self, kind: StoreKind) -> StoreOptions:
        """The same place read through store ``kind`` (a migration's source or target)."""
        return replace(self, kind=kind)


@dataclass(frozen=True)
class IndexOptions:
    """Everything an ingest, removal or repair needs."""

    read: ReadOptions
    chunk: ChunkOptions
    store: StoreOptions
