"""Keep passages, vectors and BM25 tokens in step with the issues of an index.

Only passages of changed sources are chunked and embedded again; vectors of passages whose
text is unchanged come from the index itself (keyed by a hash of the embedded text), so a
rebuild or a re-ingest of the same file does not embed twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from index.chunk import Passage, chunk_issue, make_splitter
from index.store import IndexData
from index.tokenize import tokenize

EMBED_BATCH = 256  # texts per progress-bar step


def model_id_of(embeddings: Embeddings) -> str:
    return str(getattr(embeddings, "model_id", type(embeddings).__name__))


def _text_key(model_id: str, passage: Passage) -> str:
    return hashlib.sha1(f"{model_id}\n{passage.search_text}".encode()).hexdigest()


def embed_passages(
    passages: list[Passage], embeddings: Embeddings, *, progress: bool = True
) -> np.ndarray:
    """Vectors of `passages`' search texts, as one float32 array."""
    texts = [passage.search_text for passage in passages]
    chunks: list[np.ndarray] = []
    steps = range(0, len(texts), EMBED_BATCH)
    for start in tqdm(steps, desc="向量化", unit="批", disable=not progress or len(steps) < 2):
        chunks.append(
            np.asarray(
                embeddings.embed_documents(texts[start : start + EMBED_BATCH]), dtype=np.float32
            )
        )
    return np.vstack(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)


def refresh_passages(
    data: IndexData,
    changed: Iterable[str],
    embeddings: Embeddings,
    *,
    chunk_size: int,
    chunk_overlap: int,
    bm25_params: tuple[float, float],
    progress: bool = True,
) -> int:
    """Re-chunk the `changed` sources (present or removed) and embed what is new.

    Returns how many passages had to be embedded. A change of chunker settings re-chunks
    every source; a change of embedding model is refused by `IndexData.check_model`.
    """
    model_id = model_id_of(embeddings)
    data.check_model(model_id)
    chunker = {"chunk_size": chunk_size, "chunk_overlap": chunk_overlap}
    changed = set(changed)
    if data.chunker != chunker:
        changed |= set(data.issues) | {p.source_file for p in data.passages}
    cache = (
        {_text_key(model_id, passage): row for row, passage in enumerate(data.passages)}
        if data.embedding_model == model_id
        else {}
    )
    keep = [i for i, passage in enumerate(data.passages) if passage.source_file not in changed]
    splitter = make_splitter(chunk_size, chunk_overlap)
    fresh = [
        passage
        for name in sorted(changed)
        if name in data.issues
        for passage in chunk_issue(data.issues[name], splitter)
    ]
    fresh_keys = [_text_key(model_id, passage) for passage in fresh]
    to_embed = {
        key: passage for key, passage in zip(fresh_keys, fresh, strict=True) if key not in cache
    }
    new_vectors = embed_passages(list(to_embed.values()), embeddings, progress=progress)
    embedded = dict(zip(to_embed, new_vectors, strict=True))
    all_vectors = [data.vectors[i] for i in keep] + [
        embedded[key] if key in embedded else data.vectors[cache[key]] for key in fresh_keys
    ]
    data.bm25_params = bm25_params
    data.replace_passages(
        [data.passages[i] for i in keep] + fresh,
        [data.tokens[i] for i in keep] + [" ".join(tokenize(p.search_text)) for p in fresh],
        np.vstack(all_vectors).astype(np.float32) if all_vectors else np.zeros((0, 0), np.float32),
    )
    data.embedding_model = model_id
    data.chunker = chunker
    return len(to_embed)


def remove_sources(data: IndexData, names: Iterable[str]) -> list[str]:
    """Delete sources from issues, passages, vectors and tokens. Returns the names not found."""
    names = set(names)
    missing = sorted(names - set(data.issues))
    keep = [i for i, passage in enumerate(data.passages) if passage.source_file not in names]
    for name in names:
        data.issues.pop(name, None)
    data.replace_passages(
        [data.passages[i] for i in keep],
        [data.tokens[i] for i in keep],
        data.vectors[keep] if keep else np.zeros((0, 0), dtype=np.float32),
    )
    return missing
