"""Retrieval on both stores (FAISS folder, Milvus Lite): the same tests, the same results."""

from __future__ import annotations

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from index.ingest import ingest, remove
from index.store import IndexData
from index.store_api import SourceUpdate
from index.stores import open_store
from qa.retrieve import Filters, build_retriever
from qa.settings import Settings
from tests.conftest import DATA, SEEDS

FAKE = DeterministicFakeEmbedding(size=16)


@pytest.fixture(params=["faiss", "milvus"])
def settings(request, tmp_path) -> Settings:
    """Settings of a fresh index in each store."""
    return Settings(index_dir=tmp_path / "index", store=request.param)


@pytest.fixture
def index(settings: Settings):
    ingest([SEEDS, DATA / "sample_issue.txt"], settings.index_options(), FAKE, progress=False)
    return open_store(settings.store_options())


def test_bm25_finds_the_passage_with_the_rare_words(index, settings: Settings) -> None:
    retriever = build_retriever(index, FAKE, settings, mode="bm25")
    hits = retriever.search("往来酒店 恒温恒湿").hits
    assert "往来酒店" in hits[0].passage.text and hits[0].bm25_rank == 1


def test_hybrid_returns_k_scored_passages_with_metadata(index, settings: Settings) -> None:
    retriever = build_retriever(index, FAKE, settings, k=3)
    documents = retriever.invoke("瓜山未来社区民宿组团往来酒店")
    assert len(documents) == 3
    meta = documents[0].metadata
    assert {"paper", "date", "title", "source_file", "span", "score", "dense_score"} <= set(meta)
    assert meta["score"] >= documents[1].metadata["score"] >= documents[2].metadata["score"]


def test_paper_and_date_filters(index, settings: Settings) -> None:
    retriever = build_retriever(index, FAKE, settings, k=10)
    by_paper = retriever.search("会议", filters=Filters(papers=("上城报",))).hits
    assert by_paper and {h.passage.paper for h in by_paper} == {"上城报"}
    in_2020 = retriever.search(
        "会议", filters=Filters(date_from="2020-01-01", date_to="2020-12-31")
    ).hits
    assert in_2020 and all(h.passage.date.startswith("2020") for h in in_2020)
    nothing = retriever.search(
        "会议", filters=Filters(date_from="1990-01-01", date_to="1990-12-31")
    )
    assert nothing.hits == []


def test_question_year_boosts_that_year(index, settings: Settings) -> None:
    plain = build_retriever(index, FAKE, settings, k=10, date_boost=0.0).search("区委召开会议")
    boosted = build_retriever(index, FAKE, settings, k=10, date_boost=1.0).search(
        "2024年区委召开会议"
    )
    share = lambda hits: sum(h.passage.date == "2024-06-14" for h in hits) / len(hits)  # noqa: E731
    assert share(boosted.hits) > share(plain.hits)
    assert boosted.dates and boosted.dates[0].year == 2024


def test_an_issue_of_unknown_date_stays_in_a_years_search(index, settings: Settings) -> None:
    """Seed 001's masthead prints no date: a question naming 2024 still finds it, with half
    the boost of an issue dated that year (it may be of any year)."""
    question = "2024年一季度拱墅限上数字经济核心产业营收多少？"
    plain = build_retriever(index, FAKE, settings, k=5, mode="bm25", date_boost=0.0)
    boosted = build_retriever(index, FAKE, settings, k=5, mode="bm25", date_boost=1.0)
    top = boosted.search(question).hits[0]
    assert not top.passage.date and "数字经济核心产业营收" in top.passage.text
    before = {h.passage.id: h.score for h in plain.search(question).hits}
    assert top.score == pytest.approx(before[top.passage.id] * 1.5)


def test_removed_source_is_never_returned(index, settings: Settings) -> None:
    name = "000_5f1999aa854af018.txt"
    before = index.source_passage_counts()
    assert remove(settings.store_options(), [name]) == []
    reloaded = open_store(settings.store_options())
    retriever = build_retriever(reloaded, FAKE, settings, k=50)
    for query in ("往来酒店", "瓜山未来社区", "中国人民警察节", "2021年1月"):
        assert all(h.passage.source_file != name for h in retriever.search(query).hits)
    assert name not in reloaded.issues
    assert reloaded.passage_count == sum(before.values()) - before[name]
    assert reloaded.source_passage_counts() == {k: v for k, v in before.items() if k != name}


def test_reingesting_a_changed_file_replaces_its_passages(index, settings, tmp_path) -> None:
    edited = tmp_path / "sample_issue.txt"
    text = (DATA / "sample_issue.txt").read_text(encoding="utf-8")
    edited.write_text(text.replace("雨污分流", "归来客栈"), encoding="utf-8")
    others = {k: v for k, v in index.source_passage_counts().items() if k != edited.name}
    ingest([edited], settings.index_options(), FAKE, progress=False)
    store = open_store(settings.store_options())
    retriever = build_retriever(store, FAKE, settings, k=50, mode="bm25")
    assert not [h for h in retriever.search("雨污分流").hits if "雨污分流" in h.passage.text]
    assert "归来客栈" in retriever.search("归来客栈").hits[0].passage.text
    counts = store.source_passage_counts()
    assert {k: v for k, v in counts.items() if k != edited.name} == others
    assert store.passage_count == sum(counts.values())


def test_unknown_source_is_reported(index, settings: Settings) -> None:
    assert remove(settings.store_options(), ["nope.txt"]) == ["nope.txt"]


def test_empty_index_and_empty_query(settings: Settings) -> None:
    empty = build_retriever(open_store(settings.store_options()), FAKE, settings)
    assert empty.search("任何问题").hits == []


def test_masthead_found_by_its_words(index, settings: Settings) -> None:
    hits = build_retriever(index, FAKE, settings, k=5).search("今日拱墅 新闻热线").hits
    assert any(h.passage.kind == "masthead" for h in hits)


def test_index_in_memory_stays_consistent_after_remove(index, settings: Settings) -> None:
    if not isinstance(index, IndexData):
        pytest.skip("the FAISS store's in-memory merge")
    retriever = build_retriever(index, FAKE, settings, k=50)
    retriever.search("新闻热线")  # computes the derived masks and frequencies
    index.apply(SourceUpdate(removed={"002_9cfe04800aa1e3ee.txt"}))
    assert all(
        h.passage.source_file != "002_9cfe04800aa1e3ee.txt"
        for h in retriever.search("新闻热线").hits
    )
