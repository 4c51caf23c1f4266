"""No text is dropped: a file holding one article without a headline (one dated paragraph,
as news sites and exports write them) becomes one article with an inferred title."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.parse import parse_issue
from qa.settings import Settings

DATED_PARAGRAPH = (
    "2023年08月12日，正文：本报讯（记者 王明）8月8日，青年创新创业论坛在郑州举行。"
    "论坛发布了12个合作项目，500余人参加活动。"
)
# A long paragraph that names a date and "第3版" is prose, not a running head.
PROSE_WITH_PAGE = (
    "2023-07-31 06:30:43，正文：本报北京7月30日电（记者吴月辉）据2023年7月29日本报第3版报道，"
    "国际学术期刊发表了围绕“中国天眼”发现的最新成果，研究团队由两家单位组成。"
)


@pytest.mark.parametrize("text", [DATED_PARAGRAPH, PROSE_WITH_PAGE])
def test_a_headline_less_paragraph_is_one_article(tmp_path: Path, text: str) -> None:
    path = tmp_path / "plain.txt"
    path.write_text(text, encoding="utf-8")
    issue = parse_issue(path, Settings().read_options())
    assert len(issue.articles) == 1
    article = issue.articles[0]
    assert article.title_inferred and article.title
    assert "500余人" in article.text or "研究团队" in article.text


def test_a_dated_paragraph_still_dates_the_issue(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text(DATED_PARAGRAPH, encoding="utf-8")
    meta = parse_issue(path, Settings().read_options()).meta
    assert meta.date == "2023-08-12" and meta.date_inferred


def test_every_crud_document_as_a_plain_file_is_one_article(
    tmp_path: Path, shared_dir: Path
) -> None:
    """All 3,000 CRUD documents written as plain .txt files (the article as one paragraph,
    no headline line): 699 of them used to be refused, read as a masthead or a running head."""
    lines = (shared_dir / "bench" / "crud" / "docs.jsonl").read_text(encoding="utf-8").splitlines()
    settings = Settings()
    for line in lines:
        doc = json.loads(line)
        path = tmp_path / f"{doc['id']}.txt"
        path.write_text(" ".join(doc["text"].splitlines()), encoding="utf-8")
        assert len(parse_issue(path, settings.read_options()).articles) == 1, doc["id"]
