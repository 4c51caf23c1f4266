"""The index folder on disk, written atomically.

Layout::

    <index_dir>/manifest.json        schema version, generation, embedding model, chunker,
                                     sources with content hashes, counts
    <index_dir>/gen-000007/          one complete generation of the data files
        issues.jsonl                 one parsed issue (with its articles) per line
        passages.jsonl               one passage per line (with its BM25 tokens)
        vectors.faiss                FAISS inner-product index, row i = passage i
        bm25/                        bm25s index over the passages' jieba tokens

A write builds a new generation folder completely, then replaces ``manifest.json`` with
``os.replace`` (atomic on POSIX), and only then removes older generations. A crash at any
point leaves the previous manifest pointing at a complete generation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np

from index.atomic_file import write_json_atomic
from index.chunk import Passage
from index.errors import ArchiveQAError
from index.store_api import Filters, SourceUpdate, StoredPassage

log = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG, which prints a line on every index build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

SCHEMA_VERSION = 4  # 3: BM25 tokens gained character bigrams; 4: tokens stored joined
MANIFEST = "manifest.json"
ISSUES_FILE = "issues.jsonl"
PASSAGES_FILE = "passages.jsonl"
VECTORS_FILE = "vectors.faiss"
BM25_DIR = "bm25"
REPAIR_HINT = "修复索引：archive-qa check --repair（或重新导入：archive-qa ingest --rebuild 路径…）"
# bm25s's own defaults: what indexes were built with before manifests recorded k1 and b.
LEGACY_BM25_PARAMS = (1.5, 0.75)


@dataclass
class IndexData:
    """Everything the index holds, in memory: the FAISS store (`index.store_api.PassageStore`).

    `passages[i]`, `vectors[i]` and `tokens[i]` describe the same passage; a passage's key is
    its row. The FAISS and BM25 indexes are built from them when saved and read back when
    loaded. Tokens are kept as one space-joined string per passage: a list of hundreds of
    small strings per passage cost hundreds of MB on a 13k-passage archive.
    """

    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # space-joined BM25 tokens
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    embedding_model: str | None = None
    # k1, b: set from `ChunkOptions` when passages are built (index.build.plan_update).
    bm25_params: tuple[float, float] = LEGACY_BM25_PARAMS
    chunker: dict[str, Any] = field(default_factory=dict)
    created: str | None = None
    generation: int = 0
    faiss_index: Any = None
    bm25: Any = None
    folder: Path | None = None  # where `commit` saves; set by `load_index`
    # The last query's BM25 scores of every row (a search, then its candidates are scored).
    _last_scores: tuple[tuple[str, ...], np.ndarray] = field(
        default_factory=lambda: ((), np.zeros(0, np.float32)), repr=False
    )

    @property
    def article_count(self) -> int:
        return sum(len(issue["articles"]) for issue in self.issues.values())

    @property
    def passage_count(self) -> int:
        return len(self.passages)

    def source_passage_counts(self) -> dict[str, int]:
        return dict(Counter(passage.source_file for passage in self.passages))

    # Searching (index.store_api.PassageStore)
    def _allowed(self, filters: Filters, skip_kinds: tuple[str, ...] = ()) -> np.ndarray | None:
        """Mask of the rows a search may return (`Filters.allows`, and not of ``skip_kinds``);
        None when every row may. Vectorised: a loop over a million passages took 0.5 s."""
        if not filters.active and not skip_kinds:
            return None
        columns = self._filter_columns
        allowed = np.ones(len(self.passages), dtype=bool)
        if skip_kinds:
            allowed &= ~np.isin(columns["kind"], list(skip_kinds))
        if filters.papers:
            allowed &= np.isin(columns["paper"], [p for p in filters.papers if p])
        if filters.date_from:
            allowed &= (columns["date"] != "") & (columns["date"] >= filters.date_from)
        if filters.date_to:
            allowed &= (columns["date"] != "") & (columns["date"] <= filters.date_to)
        return allowed

    def dense_search(
        self, vector: np.ndarray, depth: int, filters: Filters, skip_kinds: tuple[str, ...]
    ) -> list[int]:
        self.ensure_search_indexes()
        kinds = set(self._filter_columns["kinds_present"])
        skip = skip_kinds if kinds.intersection(skip_kinds) else ()
        allowed = self._allowed(filters, skip)
        params = None
        if allowed is not None:
            ids = np.flatnonzero(allowed).astype(np.int64)
            if not len(ids):
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids))
        depth = min(depth, len(self.passages))
        _, rows = self.faiss_index.search(vector[None, :], depth, params=params)
        return [int(r) for r in rows[0] if r >= 0]

    def _bm25_scores(self, tokens: list[str]) -> np.ndarray:
        """Scores of every row; the last query's are kept (search, then score candidates)."""
        key = tuple(tokens)
        cached_key, scores = self._last_scores
        if cached_key != key:
            self.ensure_search_indexes()
            scores = np.asarray(self.bm25.get_scores(tokens), np.float32)
            self._last_scores = (key, scores)
        return scores

    def lexical_search(self, tokens: list[str], depth: int, filters: Filters) -> list[int]:
        if not tokens or not self.passages:
            return []
        ranked = self._bm25_scores(tokens).copy()
        allowed = self._allowed(filters)
        if allowed is not None:
            ranked[~allowed] = -np.inf
        depth = min(depth, len(ranked))
        top = np.argpartition(-ranked, depth - 1)[:depth]
        top = top[np.argsort(-ranked[top], kind="stable")]
        return [int(row) for row in top if ranked[row] > 0]

    def lexical_scores(
        self, tokens: list[str], candidates: dict[int, StoredPassage]
    ) -> dict[int, float]:
        if not tokens:
            return dict.fromkeys(candidates, 0.0)
        scores = self._bm25_scores(tokens)
        return {key: float(scores[key]) for key in candidates}

    def fetch(self, keys: list[int]) -> dict[int, StoredPassage]:
        return {
            key: StoredPassage(self.passages[key], self.tokens[key].split(), self.vectors[key])
            for key in keys
        }

    def document_frequency(self, tokens: set[str]) -> dict[str, int]:
        return {token: self._document_frequency.get(token, 0) for token in tokens}

    def article_passages(self, article_id: str) -> list[Passage]:
        return self._article_groups.get(article_id, [])

    def passages_of(self, sources: set[str]) -> list[StoredPassage]:
        rows = [i for i, p in enumerate(self.passages) if p.source_file in sources]
        return list(self.fetch(rows).values())

    def export(self) -> SourceUpdate:
        """Everything, as one write (for `index.migrate`)."""
        return SourceUpdate(
            issues=dict(self.issues),
            passages=list(self.passages),
            tokens=list(self.tokens),
            vectors=self.vectors,
            embedding_model=self.embedding_model,
            chunker=dict(self.chunker),
            bm25_params=self.bm25_params,
        )

    def commit(self, update: SourceUpdate) -> None:
        """Merge `update` in memory, then save it as a new generation of `folder`."""
        if self.folder is None:
            raise ValueError("IndexData.commit needs the folder it was loaded from")
        self.apply(update)
        save_index(self.folder, self)

    def apply(self, update: SourceUpdate) -> None:
        """Merge `update` into this index in memory."""
        gone = update.removed | set(update.issues)
        keep = [i for i, passage in enumerate(self.passages) if passage.source_file not in gone]
        for name in update.removed:
            self.issues.pop(name, None)
        self.issues.update(update.issues)
        vectors = [self.vectors[keep]] if keep else []
        if len(update.passages):
            vectors.append(np.asarray(update.vectors, dtype=np.float32))
        self.replace_passages(
            [self.passages[i] for i in keep] + update.passages,
            [self.tokens[i] for i in keep] + update.tokens,
            np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32),
        )
        if update.issues:
            self.embedding_model = update.embedding_model or self.embedding_model
            self.chunker = update.chunker or self.chunker
            self.bm25_params = update.bm25_params or self.bm25_params

    def replace_passages(
        self, passages: list[Passage], tokens: list[str], vectors: np.ndarray
    ) -> None:
        """Swap in a new passage set; drops what was derived from the old one."""
        self.passages, self.tokens, self.vectors = passages, tokens, vectors
        self.faiss_index = self.bm25 = None
        self._last_scores = ((), np.zeros(0, np.float32))
        for derived in ("_document_frequency", "_filter_columns", "_article_groups"):
            self.__dict__.pop(derived, None)

    def ensure_search_indexes(self) -> None:
        """Build the FAISS and BM25 indexes from vectors and tokens if they are not current."""
        if not self.passages:
            self.faiss_index = self.bm25 = None
            return
        if self.faiss_index is None:
            self.faiss_index = faiss.IndexFlatIP(self.vectors.shape[1])
            self.faiss_index.add(np.ascontiguousarray(self.vectors, dtype=np.float32))
        if self.bm25 is None:
            self.bm25 = bm25s.BM25(k1=self.bm25_params[0], b=self.bm25_params[1])
            self.bm25.index(_token_ids(self.tokens), show_progress=False)

    @cached_property
    def _document_frequency(self) -> Counter[str]:
        """In how many passages each BM25 token occurs."""
        counts: Counter[str] = Counter()
        for tokens in self.tokens:
            counts.update(set(tokens.split()))
        return counts

    @cached_property
    def _article_groups(self) -> dict[str, list[Passage]]:
        """Each article's passages in printed order."""
        passages: dict[str, list[Passage]] = {}
        for passage in self.passages:
            passages.setdefault(passage.article_id, []).append(passage)
        for group in passages.values():
            group.sort(key=lambda p: p.span[0])
        return passages

    @cached_property
    def _filter_columns(self) -> dict[str, np.ndarray]:
        """Paper and date ('' when unknown) and kind of every row, as arrays for the masks."""

        def column(values: list[str]) -> np.ndarray:
            return np.array(values, dtype=str) if values else np.zeros(0, dtype=str)

        kinds = column([p.kind for p in self.passages])
        return {
            "paper": column([p.paper or "" for p in self.passages]),
            "date": column([p.date or "" for p in self.passages]),
            "kind": kinds,
            "kinds_present": np.unique(kinds),
        }

    @property
    def dimension(self) -> int | None:
        return int(self.vectors.shape[1]) if self.vectors.size else None

    def check_model(self, model_id: str) -> None:
        """Refuse to mix vectors of two embedding models."""
        if self.passages and self.embedding_model and self.embedding_model != model_id:
            raise ArchiveQAError(
                f"索引由嵌入模型“{self.embedding_model}”建立，当前配置的是“{model_id}”，向量不可混用。"
                f"{REPAIR_HINT}（或把 ARCHIVE_QA_EMBEDDING_BACKEND 改回原值）"
            )


def _token_ids(joined: list[str]) -> tuple[list[array], dict[str, int]]:
    """The passages' tokens as compact id arrays with their vocabulary, for bm25s. Its own
    conversion keeps one Python object per token: 17 GB for a million passages, against
    1.3 GB here; the scores are identical (checked on CRUD-3k)."""
    vocabulary: dict[str, int] = {}
    ids = [
        array("i", [vocabulary.setdefault(token, len(vocabulary)) for token in text.split()])
        for text in joined
    ]
    return ids, vocabulary


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_index(index_dir: Path) -> IndexData:
    """Load the index; an absent index is empty. A broken one raises `ArchiveQAError`."""
    manifest_path = index_dir / MANIFEST
    if not manifest_path.exists():
        return IndexData(folder=index_dir)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArchiveQAError(
            f"索引清单损坏（{exc}）。{REPAIR_HINT}", source=str(manifest_path)
        ) from exc
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArchiveQAError(
            f"索引格式版本为 {version}，本程序需要 {SCHEMA_VERSION}。{REPAIR_HINT}",
            source=str(index_dir),
        )
    folder = index_dir / manifest.get("generation_dir", "")
    _verify_files(folder, manifest.get("files"))
    try:
        issues = {issue["file"]: issue for issue in _read_jsonl(folder / ISSUES_FILE)}
        rows = _read_jsonl(folder / PASSAGES_FILE)
        tokens = [row.pop("tokens") for row in rows]
        passages = [Passage.from_dict(row) for row in rows]
        faiss_index = faiss.read_index(str(folder / VECTORS_FILE)) if passages else None
        bm25 = bm25s.BM25.load(str(folder / BM25_DIR), show_progress=False) if passages else None
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise ArchiveQAError(
            f"索引数据损坏或缺失（{exc}）。{REPAIR_HINT}", source=str(folder)
        ) from exc
    vectors = (
        faiss_index.reconstruct_n(0, faiss_index.ntotal)
        if faiss_index is not None
        else np.zeros((0, 0), dtype=np.float32)
    )
    expected_dimension = manifest.get("embedding", {}).get("dimension")
    if (
        set(manifest.get("sources", {})) != set(issues)
        or len(vectors) != len(passages)
        or (passages and vectors.shape[1] != expected_dimension)
    ):
        raise ArchiveQAError(f"索引清单与数据不一致。{REPAIR_HINT}", source=str(index_dir))
    return IndexData(
        issues=issues,
        passages=passages,
        tokens=tokens,
        vectors=vectors,
        embedding_model=manifest.get("embedding", {}).get("model"),
        chunker=manifest.get("chunker", {}),
        bm25_params=(manifest["bm25"]["k1"], manifest["bm25"]["b"])
        if "bm25" in manifest
        else LEGACY_BM25_PARAMS,
        created=manifest.get("created"),
        generation=int(manifest.get("generation", 0)),
        faiss_index=faiss_index,
        bm25=bm25,
        folder=index_dir,
    )


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of a generation folder, by relative path."""
    digests = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digests[path.relative_to(folder).as_posix()] = digest.hexdigest()
    return digests


def _verify_files(folder: Path, expected: dict[str, str] | None) -> None:
    """A truncated or altered data file is refused before it is read (FAISS reads altered
    vectors without complaint). Manifests written before checksums were kept skip this."""
    if expected is None:
        return
    actual = file_digests(folder) if folder.is_dir() else {}
    damaged = sorted(name for name in expected if actual.get(name) != expected[name])
    if damaged:
        missing = [name for name in damaged if name not in actual]
        what = "缺失" if len(missing) == len(damaged) else "损坏或被改动"
        raise ArchiveQAError(
            f"索引数据文件{what}：{', '.join(damaged[:3])}。{REPAIR_HINT}", source=str(folder)
        )


def _write_generation(folder: Path, data: IndexData) -> None:
    with (folder / ISSUES_FILE).open("w", encoding="utf-8") as handle:
        for name in sorted(data.issues):
            handle.write(json.dumps(data.issues[name], ensure_ascii=False) + "\n")
    with (folder / PASSAGES_FILE).open("w", encoding="utf-8") as handle:
        for passage, tokens in zip(data.passages, data.tokens, strict=True):
            row = {**passage.to_dict(), "tokens": tokens}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    data.ensure_search_indexes()
    if data.passages:
        faiss.write_index(data.faiss_index, str(folder / VECTORS_FILE))
        data.bm25.save(str(folder / BM25_DIR), show_progress=False)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def newest_generation(index_dir: Path) -> int:
    """The highest generation number of the folders present (0 when none)."""
    numbers = [
        int(p.name.split("-")[1]) for p in index_dir.glob("gen-*") if p.name.split("-")[1].isdigit()
    ]
    return max(numbers, default=0)


def remove_leftovers(index_dir: Path) -> list[str]:
    """Remove what an interrupted write left: staging folders, temporary manifests, and
    generations the manifest does not name. Call only while holding the writer lock
    (index/writer_lock.py). Returns the names removed. Without a readable manifest that
    names an existing generation, the generations are kept: a repair reads them."""
    removed = []
    for path in [*index_dir.glob(".staging-*"), *index_dir.glob(f".{MANIFEST}.*")]:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    try:
        current = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))["generation_dir"]
    except (OSError, ValueError, KeyError, TypeError):
        return removed
    if not (index_dir / str(current)).is_dir():
        return removed  # the manifest is wrong, not the folders: keep them for a repair
    for folder in index_dir.glob("gen-*"):
        if folder.name != current:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def save_index(index_dir: Path, data: IndexData) -> None:
    """Write `data` as a new generation, then switch the manifest to it atomically."""
    index_dir.mkdir(parents=True, exist_ok=True)
    generation = data.generation + 1
    final_dir = index_dir / f"gen-{generation:06d}"
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=index_dir))
    try:
        staging.chmod(0o755)
        _write_generation(staging, data)
        _fsync_tree(staging)
        digests = file_digests(staging)
        if final_dir.exists():  # left over from a crash after staging, before the manifest
            shutil.rmtree(final_dir)
        os.replace(staging, final_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    now = _now()
    passage_counts = Counter(passage.source_file for passage in data.passages)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "generation": generation,
        "generation_dir": final_dir.name,
        "created": data.created or now,
        "updated": now,
        "embedding": {"model": data.embedding_model, "dimension": data.dimension},
        "chunker": data.chunker,
        "bm25": {"k1": data.bm25_params[0], "b": data.bm25_params[1]},
        "files": digests,
        "counts": {
            "sources": len(data.issues),
            "articles": data.article_count,
            "passages": len(data.passages),
        },
        "sources": {
            name: {
                "passages": passage_counts.get(name, 0),
                "content_hash": issue["content_hash"],
                "path": issue.get("path"),
                "paper": issue.get("paper"),
                "date": issue.get("date"),
                "articles": len(issue["articles"]),
            }
            for name, issue in sorted(data.issues.items())
        },
    }
    write_json_atomic(index_dir / MANIFEST, manifest)
    data.generation, data.created = generation, manifest["created"]
    for old in index_dir.glob("gen-*"):
        if old != final_dir:
            shutil.rmtree(old, ignore_errors=True)
