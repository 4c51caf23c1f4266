from __future__ import annotations

from index.chunk import chunk_issue, make_splitter
from index.parse import parse_issue
from qa.settings import Settings
from tests.conftest import SEEDS


def _issue(name: str = "000_5f1999aa854af018.txt") -> dict:
    return parse_issue(SEEDS / name, Settings().read_options()).to_dict()


def test_passages_stay_inside_their_article_and_spans_point_back() -> None:
    issue = _issue()
    articles = {a["id"]: a for a in issue["articles"]}
    passages = chunk_issue(issue, make_splitter(220, 40))
    article_passages = [p for p in passages if p.kind == "article"]
    assert {p.article_id for p in article_passages} == set(articles)
    for passage in article_passages:
        article = articles[passage.article_id]
        start, end = passage.span
        assert article["text"][start:end] == passage.text
        assert len(passage.text) <= 220
        assert passage.title == article["title"]
        assert passage.search_text.startswith(article["title"] + "\n")
        assert (passage.paper, passage.date, passage.issue_no) == ("今日拱墅", "2021-01-15", 2)


def test_every_article_character_is_covered() -> None:
    issue = _issue("003_e8fc69560c1c029f.txt")
    passages = chunk_issue(issue, make_splitter(220, 40))
    for article in issue["articles"]:
        covered = set()
        for passage in passages:
            if passage.article_id == article["id"]:
                covered.update(range(*passage.span))
        text = article["text"]
        uncovered = [i for i in range(len(text)) if i not in covered and not text[i].isspace()]
        assert uncovered == []


def test_sentences_end_at_chinese_punctuation() -> None:
    passages = chunk_issue(_issue(), make_splitter(220, 40))
    ends = [p.text[-1] for p in passages if p.kind == "article"]
    assert sum(ch in "。！？；，,、”）)" for ch in ends) / len(ends) > 0.9


def test_masthead_becomes_one_passage() -> None:
    passages = chunk_issue(_issue("002_9cfe04800aa1e3ee.txt"), make_splitter(220, 40))
    mastheads = [p for p in passages if p.kind == "masthead"]
    assert len(mastheads) == 1
    assert "新闻热线: 88259745 88259925" in mastheads[0].text
    assert mastheads[0].title == "今日拱墅报头"


def test_ids_are_stable_and_unique() -> None:
    first = chunk_issue(_issue(), make_splitter(220, 40))
    second = chunk_issue(_issue(), make_splitter(220, 40))
    assert [p.id for p in first] == [p.id for p in second]
    assert len({p.id for p in first}) == len(first)
