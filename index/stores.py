"""Open the store that `Settings.store` names: the FAISS folder (default) or Milvus."""

from __future__ import annotations

from index.store import IndexData, load_index, newest_generation
from index.store_api import PassageStore
from qa.errors import ArchiveQAError
from qa.settings import Settings


def open_store(settings: Settings) -> PassageStore:
    """The index of ``settings``; raises `ArchiveQAError` when it cannot be opened."""
    if settings.store == "milvus":
        from index.milvus_store import MilvusStore

        return MilvusStore.connect(settings)
    return load_index(settings.index_dir)


def open_store_for_rebuild(settings: Settings) -> PassageStore:
    """The index as a source of vectors for a rebuild: a FAISS folder that does not load
    is started over (the rebuild replaces it anyway); Milvus must be reachable."""
    if settings.store == "milvus":
        return open_store(settings)
    try:
        return load_index(settings.index_dir)
    except ArchiveQAError:
        return IndexData(
            generation=newest_generation(settings.index_dir), folder=settings.index_dir
        )


def store_label(settings: Settings) -> str:
    """Where the index lives, for status lines and messages."""
    if settings.store == "milvus":
        return f"Milvus {settings.milvus_uri_shown}"
    return f"FAISS {settings.index_dir}"
