"""Retrieval quality on the public question set with the real embedding model, in both stores
(regression guard: fails CI when hit@5 or MRR@10 drops below what the README states)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.ingest import ingest
from index.migrate import migrate
from index.stores import open_store
from qa import evaluate
from qa.retrieve import build_retriever
from qa.settings import Settings
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def real_embeddings():
    from qa.embed import load_embeddings

    settings = Settings()
    if not (settings.embedding_model_path / "config.json").exists():
        pytest.skip("嵌入模型未安装：运行 make setup")
    return load_embeddings(settings)


@pytest.fixture(scope="module")
def seeds_index(tmp_path_factory: pytest.TempPathFactory, real_embeddings) -> Settings:
    """The seeds embedded once into the FAISS folder, and copied (not re-embedded) into
    Milvus Lite beside it."""
    settings = Settings(index_dir=tmp_path_factory.mktemp("public") / "index")
    ingest([SEEDS], settings.index_options(), real_embeddings, progress=False)
    migrate(settings.store_options(), "milvus")
    return settings


@pytest.mark.slow
@pytest.mark.parametrize("store", ["faiss", "milvus"])
def test_public_set_retrieval(
    seeds_index: Settings, shared_dir: Path, real_embeddings, store: str
) -> None:
    settings = seeds_index.model_copy(update={"store": store})
    retriever = build_retriever(open_store(settings.store_options()), real_embeddings, settings)
    questions = evaluate.load_test_set(shared_dir / "eval" / "public.jsonl")
    summary = evaluate.summarize(evaluate.evaluate_retrieval(questions, retriever, progress=False))
    assert summary["n"] == 27
    assert summary["hit@5"] == 1.0
    assert summary["mrr@10"] >= 0.95
