"""Segmentation over the real seed issues, measured against the public evidence quotes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.parse import parse_issue
from index.schema import Issue
from qa.metrics import normalize
from qa.settings import Settings
from tests.conftest import SEEDS

# Written down by hand from the files (headline and sub-headline as printed, in order).
HEADLINES = {
    "000_5f1999aa854af018.txt": [
        "首个“中国人民警察节”来临 区四套班子领导走访慰问公安民警 忠诚实践十六字总要求 着力锻造过硬公安铁军",
        "全力打造人本化数字化生态化未来社区样板",
        "以特色小镇建设为抓手 为拱墅高质量发展赋动能",
        "全面紧起来动起来严起来 坚决打赢疫情防控硬仗",
        "深入开展“三服务”活动 助推企业稳定向好发展",
        "全力以赴做好岁末年初安全生产工作",
        "用心厚植“发展沃土” 加快长成“产业森林” 2020年我区产业发展迈出新步伐",
    ],
    "003_e8fc69560c1c029f.txt": [
        "充分发挥战斗堡垒作用 望江街道奋力打造产城融合的望江新城",
        "刘忻在我区调研时强调 努力打造杭州国际化现代化时代地标",
        "我区召开招商引资工作推进会",
        "打造“红星联盟”入驻楼宇助力复工复产",
        "区人大召开信息宣传工作会议",
        "打造西湖边的“晴雨客厅”",
    ],
}
# Articles per seed as segmented now; a change here must be a deliberate one.
ARTICLE_COUNTS = {
    "000_5f1999aa854af018.txt": 7,
    "001_113e799c9f3168ec.txt": 6,
    "002_9cfe04800aa1e3ee.txt": 7,
    "003_e8fc69560c1c029f.txt": 6,
    "004_30cb9bfa44a51e07.txt": 9,
}


@pytest.fixture(scope="module")
def issues() -> dict[str, Issue]:
    settings = Settings()
    return {
        path.name: parse_issue(path, settings.read_options())
        for path in sorted(SEEDS.glob("*.txt"))
    }


@pytest.mark.parametrize("name", sorted(HEADLINES))
def test_headlines_found_exactly(issues: dict[str, Issue], name: str) -> None:
    assert [a.title for a in issues[name].articles] == HEADLINES[name]


def test_article_counts(issues: dict[str, Issue]) -> None:
    assert {name: len(issue.articles) for name, issue in issues.items()} == ARTICLE_COUNTS


def test_evidence_quotes_fall_in_exactly_one_article(
    issues: dict[str, Issue], shared_dir: Path
) -> None:
    """Every evidence quote of the public set lies inside the text of exactly one article.

    The one exception is a quote printed in the masthead (the paper's hotline): the masthead
    is issue metadata, not an article, so such a quote must be in the masthead record and in
    no article.
    """
    checked = 0
    for line in (shared_dir / "eval" / "public.jsonl").read_text(encoding="utf-8").splitlines():
        question = json.loads(line)
        for evidence in question["evidence"]:
            issue = issues[evidence["file"]]
            quote = normalize(evidence["quote"])
            holders = [a.title for a in issue.articles if quote in normalize(a.text)]
            if quote in normalize(issue.meta.masthead_text):
                assert holders == [], (question["id"], evidence["quote"])
            else:
                assert len(holders) == 1, (question["id"], evidence["quote"], holders)
            checked += 1
    assert checked >= 40


def test_no_article_mixes_masthead_or_guide(issues: dict[str, Issue]) -> None:
    for issue in issues.values():
        for article in issue.articles:
            assert "新闻热线" not in article.text
            assert "详见" not in article.text
            assert "gongshu.gov.cn" not in article.text


def test_ocr_spaces_removed_in_004(issues: dict[str, Issue]) -> None:
    text = "\n".join(a.text for a in issues["004_30cb9bfa44a51e07.txt"].articles)
    assert "区委常委会召开" in text
    assert "区委常委 会召开" not in text


def test_near_miss_set_is_consistent(issues: dict[str, Issue]) -> None:
    """eval/seed_near_misses.jsonl (the project's own dev set): every evidence quote lies in
    one article of its seed; questions without evidence are the ones meant to be refused."""
    path = SEEDS.parent / "eval" / "seed_near_misses.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        assert (row["type"] == "unanswerable") == (not row["evidence"]), row["id"]
        for evidence in row["evidence"]:
            quote = normalize(evidence["quote"])
            holders = [a for a in issues[evidence["file"]].articles if quote in normalize(a.text)]
            assert len(holders) == 1, (row["id"], evidence["quote"])
        for item in row["must_include"]:
            assert any(normalize(item) in normalize(e["quote"]) for e in row["evidence"]), row["id"]
    assert sum(not row["evidence"] for row in rows) == 10
