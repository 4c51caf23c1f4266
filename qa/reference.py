"""A Chatchat-style reference pipeline, the yardstick of `archive-qa eval --reference`.

What a plain Langchain-Chatchat knowledge base does with the same files and the same model:
the raw text of each file (no cleaning, no article split) cut into 250-character chunks
with 50 of overlap at Chatchat's Chinese separators; jieba BM25 and FAISS (e5) fused by
weighted reciprocal rank 0.5/0.5 (LangChain's EnsembleRetriever, c = 60); the top 3 chunks
in Chatchat's knowledge-base prompt. The answer carries no per-sentence citations; it is
a refusal when it says it cannot answer. Built in memory for one evaluation run.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import faiss
import jieba
import numpy as np
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.errors import ArchiveQAError
from index.load import load_file
from qa.answer import Answer
from qa.prompts import chat_prompt
from qa.settings import Settings
from qa.verdict import is_refusal

# Chatchat's ChineseRecursiveTextSplitter separators (regular expressions, kept with the text).
CHATCHAT_SEPARATORS = ["\n\n", "\n", "。|！|？", r"\.\s|\!\s|\?\s", r"；|;\s", r"，|,\s"]
CHUNK_SIZE, CHUNK_OVERLAP, TOP_K = 250, 50, 3
FUSION_WEIGHTS, RRF_C = (0.5, 0.5), 60
CHATCHAT_REFUSAL = "无法回答"


@dataclass(frozen=True)
class RawChunk:
    source: str  # file name, or document id of a JSONL corpus
    text: str


def read_sources(source: Path, settings: Settings) -> dict[str, str]:
    """Raw texts by name: every supported file of a folder (decoded, HTML/PDF as text,
    nothing else done), or the ``id``/``text`` rows of a JSONL corpus (CRUD's docs.jsonl)."""
    if source.suffix == ".jsonl":
        rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
        return {row["id"]: row["text"] for row in rows if row.get("text")}
    if not source.is_dir():
        raise ArchiveQAError("参照管线需要一个文件夹或 docs.jsonl", source=str(source))
    return {
        path.name: load_file(path, settings.read_options()).text
        for path in sorted(source.rglob("*"))
        if path.is_file() and path.suffix.lower() in settings.supported_extensions
    }


def chatchat_chunks(texts: dict[str, str]) -> list[RawChunk]:
    splitter = RecursiveCharacterTextSplitter(
        separators=CHATCHAT_SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=CHUNK_SIZE,
        chunk_overlap=CHUNK_OVERLAP,
    )
    return [
        RawChunk(name, piece.strip())
        for name, text in texts.items()
        for piece in splitter.split_text(text)
        if piece.strip()
    ]


def weighted_rrf(rankings: list[list[int]], weights: tuple[float, ...]) -> list[int]:
    """Chunk numbers by weighted reciprocal rank, best first (ties keep first-seen order)."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, number in enumerate(ranking, start=1):
            scores[number] = scores.get(number, 0.0) + weight / (rank + RRF_C)
    return sorted(scores, key=lambda number: -scores[number])


def chunk_vectors(chunks: list[RawChunk], embeddings: Any, cache_dir: Path | None) -> np.ndarray:
    """The chunks' vectors, kept in ``cache_dir`` under a key of the embedding model and
    every chunk's text: a 3,000-document corpus is embedded once, not on every run (an
    hour on a slow 2-core CPU)."""
    model_id = getattr(embeddings, "model_id", type(embeddings).__name__)
    digest = hashlib.sha256(model_id.encode())
    for chunk in chunks:
        digest.update(b"\0" + chunk.text.encode())
    path = cache_dir / f"{digest.hexdigest()[:24]}.npy" if cache_dir else None
    if path is not None and path.exists():
        cached = np.load(path)
        if cached.shape[0] == len(chunks):
            return cached
    vectors = np.asarray(embeddings.embed_documents([c.text for c in chunks]), "float32")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npy")
        np.save(partial, vectors)
        os.replace(partial, path)  # whole or not at all
    return vectors


class ReferencePipeline:
    """Retrieve and answer the Chatchat way; see the module docstring."""

    def __init__(
        self,
        chunks: list[RawChunk],
        embeddings: Any,
        model: BaseChatModel | None,
        cache_dir: Path | None = None,
    ) -> None:
        if not chunks:
            raise ArchiveQAError("参照管线没有可用的文本")
        self.chunks = chunks
        self.embeddings = embeddings
        self.model = model
        vectors = chunk_vectors(chunks, embeddings, cache_dir)
        faiss.normalize_L2(vectors)
        self.dense = faiss.IndexFlatIP(vectors.shape[1])
        self.dense.add(vectors)
        self.bm25 = bm25s.BM25()
        self.bm25.index([jieba.lcut(c.text) for c in chunks], show_progress=False)

    def search(self, query: str) -> list[RawChunk]:
        vector = np.asarray([self.embeddings.embed_query(query)], "float32")
        faiss.normalize_L2(vector)
        _, dense = self.dense.search(vector, TOP_K)
        k = min(TOP_K, len(self.chunks))
        found, _ = self.bm25.retrieve([jieba.lcut(query)], k=k, show_progress=False)
        order = weighted_rrf([list(dense[0]), list(found[0])], FUSION_WEIGHTS)
        return [self.chunks[n] for n in order[:TOP_K] if n >= 0]

    def context_text(self, question: dict[str, Any]) -> str:
        """The chunks the model reads for an evaluation question (its context only)."""
        return "\n\n".join(c.text for c in self._chunks(question["question"], question["history"]))

    def _chunks(self, question: str, history: list[dict[str, Any]] | None) -> list[RawChunk]:
        """Chatchat searches with the question as typed; a follow-up here also carries the
        user's earlier questions (as the evaluation's retrieval does), to be fair to it."""
        earlier = [t["content"] for t in history or [] if t.get("role") == "user"]
        return self.search(" ".join([*earlier[-2:], question]))

    def ask(self, question: str, history: list[dict[str, Any]] | None = None) -> Answer:
        started = time.perf_counter()
        chunks = self._chunks(question, history)
        retrieved = time.perf_counter()
        messages = chat_prompt("reference").format_messages(
            context="\n\n".join(c.text for c in chunks), question=question
        )
        text = "".join(str(chunk.content) for chunk in self.model.stream(messages)).strip()
        finished = time.perf_counter()
        answer = Answer(
            question=question,
            standalone_question=question,
            text=text,
            refused=CHATCHAT_REFUSAL in text or is_refusal(text),
            backend="reference",
            passages=[{"source_file": c.source, "text": c.text} for c in chunks],
        )
        stats = getattr(self.model, "last_stats", None) or {}
        answer.timings = {f"model_{key}": value for key, value in stats.items()} | {
            "retrieve_s": round(retrieved - started, 3),
            "generate_s": round(finished - retrieved, 3),
            "total_s": round(finished - started, 3),
        }
        if "first_token_s" in stats:
            answer.timings["first_token_s"] = stats["first_token_s"]
        return answer


def build_reference(
    source: Path, settings: Settings, embeddings: Any, model: BaseChatModel | None
) -> ReferencePipeline:
    return ReferencePipeline(
        chatchat_chunks(read_sources(source, settings)),
        embeddings,
        model,
        settings.reference_cache_dir,
    )
