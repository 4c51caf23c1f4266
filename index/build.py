"""Plan a write of an index: chunk changed issues, embed what is new, tokenize for BM25.

Only passages of changed sources are chunked and embedded again; vectors of passages whose
text is unchanged come from the store itself (keyed by a hash of the embedded text), so a
rebuild or a re-ingest of the same file does not embed twice. The plan (`SourceUpdate`) is
then committed by whichever store holds the index.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from index.chunk import Passage, chunk_issue, make_splitter
from index.options import ChunkOptions
from index.store_api import PassageStore, SourceUpdate
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


def plan_update(
    store: PassageStore,
    issues: dict[str, dict[str, Any]],
    embeddings: Embeddings,
    options: ChunkOptions,
    *,
    rebuild: bool = False,
    progress: bool = True,
) -> SourceUpdate:
    """The write that stores `issues` (new or changed).

    Only the passages of changed sources are chunked; vectors of passages whose text the
    store already holds are reused. A change of chunker settings re-chunks every source;
    `rebuild` drops every source not in `issues`. A change of embedding model is refused
    (`check_model`) unless `rebuild` starts over.
    """
    model_id = model_id_of(embeddings)
    reuse = store.embedding_model in (None, model_id)
    if not rebuild:
        store.check_model(model_id)
    chunker = {"chunk_size": options.chunk_size, "chunk_overlap": options.chunk_overlap}
    gone = set(store.issues) - set(issues) if rebuild else set()
    to_chunk = dict(issues)
    if store.chunker != chunker and not rebuild:
        to_chunk = {name: store.issues[name] for name in store.issues if name not in gone}
        to_chunk.update(issues)
    cache = (
        {_text_key(model_id, old.passage): old.vector for old in store.passages_of(set(to_chunk))}
        if reuse
        else {}
    )
    splitter = make_splitter(options.chunk_size, options.chunk_overlap)
    fresh = [
        passage for name in sorted(to_chunk) for passage in chunk_issue(to_chunk[name], splitter)
    ]
    keys = [_text_key(model_id, passage) for passage in fresh]
    to_embed = {key: p for key, p in zip(keys, fresh, strict=True) if key not in cache}
    new_vectors = embed_passages(list(to_embed.values()), embeddings, progress=progress)
    cache.update(zip(to_embed, new_vectors, strict=True))
    return SourceUpdate(
        issues=to_chunk,
        passages=fresh,
        tokens=[" ".join(tokenize(p.search_text)) for p in fresh],
        vectors=np.vstack([cache[key] for key in keys]).astype(np.float32)
        if keys
        else np.zeros((0, 0), np.float32),
        removed=gone & set(store.issues),
        embedding_model=model_id,
        chunker=chunker,
        bm25_params=options.bm25_params,
        embedded=len(to_embed),
    )
