"""Open the store that `StoreOptions.kind` names: the FAISS folder (default) or Milvus."""

from __future__ import annotations

from index.errors import ArchiveQAError
from index.options import StoreOptions
from index.store import IndexData, load_index, newest_generation
from index.store_api import PassageStore


def open_store(options: StoreOptions) -> PassageStore:
    """The index ``options`` name; raises `ArchiveQAError` when it cannot be opened."""
    if options.kind == "milvus":
        from index.milvus_store import MilvusStore

        return MilvusStore.connect(options)
    return load_index(options.index_dir)


def open_store_for_rebuild(options: StoreOptions) -> PassageStore:
    """The index as a source of vectors for a rebuild: a FAISS folder that does not load
    is started over (the rebuild replaces it anyway); Milvus must be reachable."""
    if options.kind == "milvus":
        return open_store(options)
    try:
        return load_index(options.index_dir)
    except ArchiveQAError:
        return IndexData(generation=newest_generation(options.index_dir), folder=options.index_dir)
