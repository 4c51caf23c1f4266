"""The index in Milvus: the scale-out `PassageStore` (see `index.store_api`).

Collections (``<prefix>`` is ``MilvusAddress.collection``)::

    <prefix>_passages   one row per passage: tag, source, article, paper, date, kind, the
                        passage as JSON, its BM25 tokens (plain, and hashed into an analysed
                        text field whose BM25 function fills a sparse vector), the dense vector
    <prefix>_sources    the parsed issues as JSON with their passages' token counts (in
                        parts: a VARCHAR holds 64 KB), one set of rows per (source, tag); a
                        removed source gets a tombstone row
    <prefix>_manifest   one row per committed write: its tag and the index metadata

Full-text search is Milvus's own BM25 (``FunctionType.BM25``, index parameters ``bm25_k1`` and
``bm25_b`` from `StoreOptions`) over the project's own jieba tokens: each token is written as a
hashed word (``t`` + 16 hex digits) that the ``standard`` analyzer keeps whole, so Milvus
counts exactly the tokens `index.tokenize` makes, and keeps IDF and lengths current as sources
come and go. (Milvus's ``jieba`` analyzer does not make the project's tokens — no Han bigrams —
and Milvus Lite has no other Chinese analyzer.)

Consistency without transactions: a write inserts its rows under a new tag, then inserts the
manifest row of that tag (one row: atomic). Readers see only rows whose tag is at most the
newest manifest's, and of each source only its newest version; the older versions are
deleted afterwards. A write killed at any point leaves the old or the new state; the next
writer deletes what it left.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.chunk import Passage
from index.errors import ArchiveQAError
from index.options import MilvusAddress, StoreOptions
from index.store_api import Filters, SourceUpdate, StoredPassage

log = logging.getLogger(__name__)
# Milvus Lite does not implement AllocTimestamp; pymilvus's query iterator then falls back
# to a client-side timestamp (correct here: one process owns a Lite file) but logs a warning
# and an error traceback per call. Those two messages only.
logging.getLogger("grpc._server").addFilter(
    lambda record: "Method not implemented" not in record.getMessage()
)
logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(
    lambda record: "mvccTs" not in record.getMessage()
)

LAYOUT_VERSION = 1
VARCHAR_BYTES = 65_535
ISSUE_PART_CHARS = 16_000  # 4 bytes per character at most: one part fits a VARCHAR
INSERT_BATCH = 512
ARTICLE_PASSAGES_LIMIT = 10_000  # an article of 2 million characters
SYNC_EVERY_S = 1.0  # how often a reader looks for a newer manifest (other writers)
REMOTE_SCHEMES = ("http://", "https://", "tcp://", "grpc://", "unix:")


def hashed_token(token: str) -> str:
    """A token as one word the ``standard`` analyzer keeps whole."""
    return "t" + hashlib.blake2b(token.encode(), digest_size=8).hexdigest()


def _literal(value: str) -> str:
    """A Milvus string literal."""
    return json.dumps(value, ensure_ascii=False)


def filter_expression(filters: Filters) -> list[str]:
    """The paper/date filters as Milvus scalar conditions (applied inside the search)."""
    conditions = []
    if filters.papers:
        conditions.append(f"paper in [{', '.join(map(_literal, filters.papers))}]")
    if filters.date_from:
        conditions.append(f"date >= {_literal(filters.date_from)}")
    if filters.date_to:
        conditions.append(f"date <= {_literal(filters.date_to)}")
    return conditions


@dataclass
class _Live:
    """What readers see: the newest manifest and the current version of each source."""

    tag: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)  # live source -> its tag
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # passages, tokens
    # In how many live passages each token occurs: the sum of the live sources' own counts,
    # kept with each source version (so it changes exactly when the sources do).
    document_frequency: Counter[str] = field(default_factory=Counter)
    stale: dict[int, list[str]] = field(default_factory=dict)  # tag -> sources not yet deleted
    tombstones: dict[int, list[str]] = field(default_factory=dict)  # removed, nothing left

    @property
    def expression(self) -> str:
        """The condition every read adds: committed rows of live source versions."""
        parts = [f"tag <= {self.tag}"]
        for tag, sources in sorted(self.stale.items()):
            parts.append(f"not (tag == {tag} and {_source_in(sources)})")
        return " and ".join(parts)


class MilvusStore:
    """See the module docstring. One instance per process and index; thread-safe reads."""

    def __init__(self, client: Any, options: StoreOptions) -> None:
        self.client = client
        self.bm25_params = options.bm25_params
        self.uri = options.milvus.shown
        prefix = options.milvus.collection
        self.passages_name = f"{prefix}_passages"
        self.sources_name = f"{prefix}_sources"
        self.manifest_name = f"{prefix}_manifest"
        self._live = _Live()
        self._synced_at = 0.0
        self._sync_lock = threading.Lock()

    # Opening
    @classmethod
    def connect(cls, options: StoreOptions) -> MilvusStore:
        """Connect (a local file starts Milvus Lite) and read the live state; an unreachable
        or unusable Milvus raises `ArchiveQAError` naming the URI."""
        address = options.milvus
        uri, shown = address.uri, address.shown
        try:
            from pymilvus import MilvusClient
        except ImportError as exc:  # pragma: no cover - pymilvus is a dependency
            raise ArchiveQAError("未安装 pymilvus，无法使用 Milvus 存储", source=shown) from exc
        if not uri.startswith(REMOTE_SCHEMES):
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            with _CLIENTS_LOCK:
                client = _CLIENTS.get(uri)
                if client is None:
                    client = MilvusClient(uri=uri, token=address.token, timeout=address.timeout_s)
                    _CLIENTS[uri] = client
            store = cls(client, options)
            store._create_catalogue()
            store._load()
            store.refresh()
        except ArchiveQAError:
            raise
        except Exception as exc:
            raise ArchiveQAError(
                f"无法连接 Milvus（{shown}）：{_reason(exc)}。请检查 ARCHIVE_QA_MILVUS_URI 与服务状态",
                source=shown,
            ) from exc
        return store

    def _create_catalogue(self) -> None:
        """The sources and manifest collections (the passages one needs the vector size,
        and is made by the first write)."""
        from pymilvus import DataType

        for name, fields in (
            (
                self.sources_name,
                [
                    ("tag", DataType.INT64, {}),
                    ("source", DataType.VARCHAR, {"max_length": 1024}),
                    ("part", DataType.INT64, {}),  # -1: tombstone of a removed source
                    ("passages", DataType.INT64, {}),
                    ("tokens", DataType.INT64, {}),
                    ("data", DataType.VARCHAR, {"max_length": VARCHAR_BYTES}),
                ],
            ),
            (self.manifest_name, [("data", DataType.VARCHAR, {"max_length": VARCHAR_BYTES})]),
        ):
            if self.client.has_collection(name):
                continue
            schema = self.client.create_schema(auto_id=name != self.manifest_name)
            schema.add_field("pk", DataType.INT64, is_primary=True)
            for field_name, kind, options in fields:
                schema.add_field(field_name, kind, **options)
            # Milvus needs a vector field in every collection; these rows are only queried.
            schema.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
            index = self.client.prepare_index_params()
            index.add_index("_v", index_type="FLAT", metric_type="L2")
            self.client.create_collection(
                name, schema=schema, index_params=index, consistency_level="Strong"
            )

    def _load(self) -> None:
        """Load the collections into memory (a restarted Milvus holds them released)."""
        from pymilvus.client.types import LoadState

        for name in (self.passages_name, self.sources_name, self.manifest_name):
            if self.client.has_collection(name):
                state = self.client.get_load_state(name).get("state")
                if state != LoadState.Loaded:
                    self.client.load_collection(name)

    def _create_passages(self, dimension: int, bm25: tuple[float, float]) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self.client.create_schema(auto_id=True)
        schema.add_field("pk", DataType.INT64, is_primary=True)
        schema.add_field("tag", DataType.INT64)
        for name, length, nullable in (
            ("source", 1024, False),
            ("article_id", 1024, False),
            ("paper", 256, True),
            ("date", 32, True),
            ("kind", 32, False),
            ("data", VARCHAR_BYTES, False),
            ("words", VARCHAR_BYTES, False),
        ):
            schema.add_field(name, DataType.VARCHAR, max_length=length, nullable=nullable)
        schema.add_field(
            "tokens",
            DataType.VARCHAR,
            max_length=VARCHAR_BYTES,
            enable_analyzer=True,
            analyzer_params={"tokenizer": "standard"},
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["tokens"],
                output_field_names=["sparse"],
            )
        )
        index = self.client.prepare_index_params()
        index.add_index(
            "vector", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200}
        )
        index.add_index(
            "sparse",
            index_type="SPARSE_INVERTED_INDEX",
            metric_type="BM25",
            params={"bm25_k1": bm25[0], "bm25_b": bm25[1]},
        )
        self.client.create_collection(
            self.passages_name, schema=schema, index_params=index, consistency_level="Strong"
        )

    # The live state
    def refresh(self) -> None:
        """Read the newest manifest and the catalogue of sources it commits."""
        manifests = self._query(self.manifest_name, "pk >= 0", ["pk", "data"])
        if not manifests:
            live = _Live()
        else:
            newest = max(manifests, key=lambda row: row["pk"])
            live = _Live(tag=int(newest["pk"]), meta=json.loads(newest["data"]))
            if live.meta.get("layout") != LAYOUT_VERSION:
                raise ArchiveQAError(
                    f"Milvus 中的索引格式为 {live.meta.get('layout')}，本程序需要 {LAYOUT_VERSION}",
                    source=self.uri,
                )
            self._read_catalogue(live)
        with self._sync_lock:
            self._live = live
            self._synced_at = time.monotonic()

    def _read_catalogue(self, live: _Live) -> None:
        rows = self._query(
            self.sources_name,
            f"tag <= {live.tag}",
            ["tag", "source", "part", "passages", "tokens", "data"],
        )
        versions: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(dict)
        for row in rows:
            versions[row["source"]].setdefault(int(row["tag"]), []).append(row)
        for source, by_tag in versions.items():
            newest = max(by_tag)
            for tag in by_tag:
                if tag != newest:
                    live.stale.setdefault(tag, []).append(source)
            parts = sorted(by_tag[newest], key=lambda row: row["part"])
            if parts[0]["part"] < 0:  # removed; the tombstone goes once older rows are gone
                if len(by_tag) == 1:
                    live.tombstones.setdefault(newest, []).append(source)
                continue
            stored = json.loads("".join(row["data"] for row in parts))
            live.versions[source] = newest
            live.issues[source] = stored["issue"]
            live.document_frequency.update(stored["terms"])
            live.counts[source] = (int(parts[0]["passages"]), int(parts[0]["tokens"]))

    def _sync(self) -> _Live:
        """The live state, first re-read when another writer may have committed."""
        if time.monotonic() - self._synced_at > SYNC_EVERY_S:
            newer = self._query(self.manifest_name, f"pk > {self._live.tag}", ["pk"])
            if newer:
                self.refresh()
            else:
                self._synced_at = time.monotonic()
        return self._live

    def _query(
        self, collection: str, expression: str, fields: list[str], batch: int = 1000
    ) -> list[dict[str, Any]]:
        """Every row matching ``expression`` (paged: a plain query stops at 16,384 rows)."""
        return list(self._iterate(collection, expression, fields, batch))

    def _iterate(
        self, collection: str, expression: str, fields: list[str], batch: int = 1000
    ) -> Iterator[dict[str, Any]]:
        iterator = self.client.query_iterator(
            collection, batch_size=batch, filter=expression, output_fields=fields
        )
        try:
            while rows := iterator.next():
                yield from rows
        finally:
            iterator.close()

    # PassageStore: catalogue
    @property
    def issues(self) -> dict[str, dict[str, Any]]:
        return self._live.issues

    @property
    def embedding_model(self) -> str | None:
        return self._live.meta.get("embedding", {}).get("model")

    @property
    def chunker(self) -> dict[str, Any]:
        return self._live.meta.get("chunker", {})

    @property
    def passage_count(self) -> int:
        return int(self._live.meta.get("counts", {}).get("passages", 0))

    @property
    def article_count(self) -> int:
        return sum(len(issue["articles"]) for issue in self._live.issues.values())

    def source_passage_counts(self) -> dict[str, int]:
        return {source: counts[0] for source, counts in self._live.counts.items()}

    def check_model(self, model_id: str) -> None:
        if self.passage_count and self.embedding_model and self.embedding_model != model_id:
            raise ArchiveQAError(
                f"Milvus 中的索引由嵌入模型“{self.embedding_model}”建立，当前配置的是“{model_id}”，"
                "向量不可混用。请用同一模型，或 archive-qa ingest --rebuild 重建",
                source=self.uri,
            )

    # PassageStore: search
    def _where(self, live: _Live, filters: Filters, *extra: str) -> str:
        return " and ".join([live.expression, *filter_expression(filters), *extra])

    def dense_search(
        self, vector: np.ndarray, depth: int, filters: Filters, skip_kinds: tuple[str, ...]
    ) -> list[int]:
        live = self._sync()
        if not self.passage_count:
            return []
        skip = [f"kind not in [{', '.join(map(_literal, skip_kinds))}]"] if skip_kinds else []
        found = self.client.search(
            self.passages_name,
            data=[np.asarray(vector, dtype=np.float32).tolist()],
            anns_field="vector",
            limit=depth,
            filter=self._where(live, filters, *skip),
            search_params={"metric_type": "IP", "params": {"ef": max(2 * depth, 64)}},
            output_fields=["pk"],
        )
        return [int(hit["pk"]) for hit in found[0]]

    def lexical_search(self, tokens: list[str], depth: int, filters: Filters) -> list[int]:
        live = self._sync()
        if not tokens or not self.passage_count:
            return []
        found = self.client.search(
            self.passages_name,
            data=[" ".join(hashed_token(t) for t in tokens)],
            anns_field="sparse",
            limit=depth,
            filter=self._where(live, filters),
            search_params={"metric_type": "BM25"},
            output_fields=["pk"],
        )
        # Milvus Lite reports BM25 as a negative distance, a server as a positive score.
        return [int(hit["pk"]) for hit in found[0] if hit["distance"]]

    def lexical_scores(
        self, tokens: list[str], candidates: dict[int, StoredPassage]
    ) -> dict[int, float]:
        """BM25 as bm25s computes it (Lucene IDF), over the live passages, so that the scores
        of passages the lexical search did not return compare with those it did."""
        if not tokens:
            return dict.fromkeys(candidates, 0.0)
        total = max(self.passage_count, 1)
        average = self._live.meta.get("counts", {}).get("tokens", 0) / total or 1.0
        params = self._bm25_params()
        k1, b = params["k1"], params["b"]
        frequency = self.document_frequency(set(tokens))
        idf = {
            t: math.log(1 + (total - df + 0.5) / (df + 0.5)) for t, df in frequency.items() if df
        }
        scores = {}
        for key, stored in candidates.items():
            words = Counter(stored.tokens)
            norm = k1 * (1 - b + b * len(stored.tokens) / average)
            scores[key] = float(
                sum(idf[t] * words[t] / (words[t] + norm) for t in tokens if t in idf and words[t])
            )
        return scores

    def _bm25_params(self) -> dict[str, float]:
        """The k1 and b the sparse index was created with."""
        return self._live.meta.get("bm25") or {
            "k1": self.bm25_params[0],
            "b": self.bm25_params[1],
        }

    def fetch(self, keys: list[int]) -> dict[int, StoredPassage]:
        if not keys:
            return {}
        rows = self.client.get(
            self.passages_name, ids=list(keys), output_fields=["data", "words", "vector"]
        )
        fetched = {int(row["pk"]): _stored(row) for row in rows}
        missing = set(keys) - set(fetched)
        if missing:
            raise ArchiveQAError(
                f"Milvus 中缺少 {len(missing)} 个段落（索引正在被改写？请重试）", source=self.uri
            )
        return fetched

    def document_frequency(self, tokens: set[str]) -> dict[str, int]:
        frequency = self._sync().document_frequency
        return {token: frequency.get(token, 0) for token in tokens}

    def article_passages(self, article_id: str) -> list[Passage]:
        if not self.passage_count:
            return []
        live = self._sync()
        rows = self.client.query(
            self.passages_name,
            filter=f"article_id == {_literal(article_id)} and {live.expression}",
            output_fields=["data"],
            limit=ARTICLE_PASSAGES_LIMIT,
        )
        passages = [Passage.from_dict(json.loads(row["data"])) for row in rows]
        return sorted(passages, key=lambda p: p.span[0])

    def passages_of(self, sources: set[str]) -> list[StoredPassage]:
        return [
            _stored(row)
            for row in self.iterate_passages(sources & set(self._live.versions), ["words"])
        ]

    def iterate_passages(
        self, sources: set[str] | None = None, fields: list[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Rows of the live passages (of ``sources``, or all), with their data and vector."""
        if not self.passage_count:
            return
        live = self._live
        names = sorted(live.versions if sources is None else sources)
        for start in range(0, len(names), 200):
            yield from self._iterate(
                self.passages_name,
                f"{_source_in(names[start : start + 200])} and {live.expression}",
                ["data", "vector", *(fields or [])],
            )

    def export(self) -> SourceUpdate:
        """Everything, as one write (for `index.migrate`)."""
        rows = [_stored(row) for row in self.iterate_passages(None, ["words"])]
        vectors = np.vstack([row.vector for row in rows]) if rows else np.zeros((0, 0), np.float32)
        bm25 = self._bm25_params()
        return SourceUpdate(
            issues=dict(self.issues),
            passages=[row.passage for row in rows],
            tokens=[" ".join(row.tokens) for row in rows],
            vectors=vectors.astype(np.float32),
            embedding_model=self.embedding_model,
            chunker=dict(self.chunker),
            bm25_params=(bm25["k1"], bm25["b"]),
        )

    # Writing (callers hold index.writer_lock)
    def commit(self, update: SourceUpdate) -> None:
        """See the module docstring: rows under a new tag, then its manifest row."""
        if update.empty:
            return
        self.refresh()
        self.discard_leftovers()
        live = self._live
        tag = live.tag + 1
        dimension = int(update.vectors.shape[1]) if len(update.passages) else None
        known = live.meta.get("embedding", {}).get("dimension")
        if dimension and known and dimension != known:
            raise ArchiveQAError(
                f"向量维度 {dimension} 与 Milvus 中已有的 {known} 不同（换了嵌入模型？）；"
                f"请换一个集合名 ARCHIVE_QA_MILVUS_COLLECTION 重建",
                source=self.uri,
            )
        bm25 = update.bm25_params or self.bm25_params
        if dimension and not self.client.has_collection(self.passages_name):
            self._create_passages(dimension, bm25)
        counts, terms = self._insert_passages(update, tag)
        self._insert_sources(update, tag, counts, terms)
        for name in (self.passages_name, self.sources_name):
            if self.client.has_collection(name):
                self.client.flush(name)
        gone = update.removed | set(update.issues)
        kept = {s: c for s, c in live.counts.items() if s not in gone} | counts
        issues = {**live.issues, **update.issues}
        written = bool(update.issues)  # a removal keeps the model, chunker and BM25 settings
        meta = {
            "layout": LAYOUT_VERSION,
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
            "embedding": {
                "model": update.embedding_model if written else self.embedding_model,
                "dimension": dimension or known,
            },
            "chunker": update.chunker if written else self.chunker,
            # the sparse index keeps the k1 and b it was created with
            "bm25": live.meta.get("bm25") or dict(zip(("k1", "b"), bm25, strict=True)),
            "counts": {
                "sources": len(kept),
                "articles": sum(len(issues[s]["articles"]) for s in kept),
                "passages": sum(c[0] for c in kept.values()),
                "tokens": sum(c[1] for c in kept.values()),
            },
        }
        self.client.insert(
            self.manifest_name, [{"pk": tag, "data": json.dumps(meta), "_v": [0, 0]}]
        )
        self.client.flush(self.manifest_name)
        self.refresh()
        self.discard_leftovers()

    def _insert_passages(
        self, update: SourceUpdate, tag: int
    ) -> tuple[dict[str, tuple[int, int]], dict[str, Counter[str]]]:
        """Insert the passages; their counts (passages, tokens) and term frequencies by source."""
        counts: dict[str, list[int]] = {name: [0, 0] for name in update.issues}
        terms: dict[str, Counter[str]] = {name: Counter() for name in update.issues}
        rows = []
        for passage, tokens, vector in zip(
            update.passages, update.tokens, update.vectors, strict=True
        ):
            words = tokens.split()
            row = {
                "tag": tag,
                "source": passage.source_file,
                "article_id": passage.article_id,
                "paper": passage.paper,
                "date": passage.date,
                "kind": passage.kind,
                "data": json.dumps(passage.to_dict(), ensure_ascii=False),
                "words": tokens,
                "tokens": " ".join(hashed_token(t) for t in words),
                "vector": vector.tolist(),
            }
            for name in ("data", "words", "tokens"):
                if len(row[name].encode()) > VARCHAR_BYTES:
                    raise ArchiveQAError(
                        f"段落过长，超出 Milvus 字段上限 {VARCHAR_BYTES} 字节；请减小 ARCHIVE_QA_CHUNK_SIZE",
                        source=passage.source_file,
                    )
            counts[passage.source_file][0] += 1
            counts[passage.source_file][1] += len(words)
            terms[passage.source_file].update(set(words))
            rows.append(row)
            if len(rows) == INSERT_BATCH:
                self.client.insert(self.passages_name, rows)
                rows = []
        if rows:
            self.client.insert(self.passages_name, rows)
        return {name: (c[0], c[1]) for name, c in counts.items()}, terms

    def _insert_sources(
        self,
        update: SourceUpdate,
        tag: int,
        counts: dict[str, tuple[int, int]],
        terms: dict[str, Counter[str]],
    ) -> None:
        rows = []
        for name, issue in update.issues.items():
            text = json.dumps({"issue": issue, "terms": terms[name]}, ensure_ascii=False)
            for part, start in enumerate(range(0, len(text), ISSUE_PART_CHARS)):
                rows.append(
                    {
                        "tag": tag,
                        "source": name,
                        "part": part,
                        "passages": counts[name][0],
                        "tokens": counts[name][1],
                        "data": text[start : start + ISSUE_PART_CHARS],
                        "_v": [0, 0],
                    }
                )
        for name in sorted(update.removed - set(update.issues)):
            rows.append(
                {
                    "tag": tag,
                    "source": name,
                    "part": -1,
                    "passages": 0,
                    "tokens": 0,
                    "data": "",
                    "_v": [0, 0],
                }
            )
        for start in range(0, len(rows), INSERT_BATCH):
            self.client.insert(self.sources_name, rows[start : start + INSERT_BATCH])

    def discard_leftovers(self) -> None:
        """Delete rows no reader can see: a killed write's (tag above the manifest's), older
        versions of sources, then tombstones with nothing left to hide, and old manifests."""
        live = self._live
        collections = [self.sources_name]
        if self.client.has_collection(self.passages_name):
            collections.insert(0, self.passages_name)
        for name in collections:
            self.client.delete(name, filter=f"tag > {live.tag}")
            for tag, sources in live.stale.items():
                self.client.delete(name, filter=f"tag == {tag} and {_source_in(sources)}")
        self.client.delete(self.manifest_name, filter=f"pk < {live.tag} or pk > {live.tag}")
        if live.stale:
            self.refresh()  # readers need no exclusions now; removed sources are lone tombstones
        for tag, sources in self._live.tombstones.items():
            self.client.delete(self.sources_name, filter=f"tag == {tag} and {_source_in(sources)}")

    def drop(self) -> None:
        """Delete every collection of this index (tests, and `migrate --to faiss --drop`)."""
        for name in (self.passages_name, self.sources_name, self.manifest_name):
            if self.client.has_collection(name):
                self.client.drop_collection(name)
        self._live = _Live()


# One client per URI and process: the app opens the store again after every write.
_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def release(address: MilvusAddress) -> None:
    """Close this process's client of the Milvus at ``address``; for Milvus Lite also stop
    the embedded server, which frees the file for another process."""
    uri = address.uri
    with _CLIENTS_LOCK:
        client = _CLIENTS.pop(uri, None)
    if client is not None:
        client.close()
    if not uri.startswith(REMOTE_SCHEMES):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def _source_in(sources: list[str]) -> str:
    return f"source in [{', '.join(map(_literal, sources))}]"


def _stored(row: dict[str, Any]) -> StoredPassage:
    return StoredPassage(
        Passage.from_dict(json.loads(row["data"])),
        row.get("words", "").split(),
        np.asarray(row["vector"], dtype=np.float32),
    )


def _reason(exc: Exception) -> str:
    """The first line of a pymilvus error, without its class wrapper."""
    text = str(getattr(exc, "message", "") or exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
