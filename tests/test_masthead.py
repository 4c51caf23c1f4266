from __future__ import annotations

import pytest

from index.clean import Line
from index.masthead import infer_date, parse_masthead
from index.parse import parse_issue
from qa.settings import Settings
from tests.conftest import SEEDS

EXPECTED = {
    "000_5f1999aa854af018.txt": ("今日拱墅", "2021-01-15", 2, 1110),
    "002_9cfe04800aa1e3ee.txt": ("今日拱墅", "2020-06-12", 23, 1079),
    "003_e8fc69560c1c029f.txt": ("上城报", "2020-04-21", 1492, None),
    "004_30cb9bfa44a51e07.txt": ("今日拱墅", "2024-06-14", 27, 177),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_mastheads(name: str, settings: Settings) -> None:
    issue = parse_issue(SEEDS / name, settings.read_options())
    meta = issue.meta
    assert (meta.paper, meta.date, meta.issue_no, meta.total_issue_no) == EXPECTED[name]
    assert meta.date_inferred is False


def test_issue_without_masthead_is_not_invented(settings: Settings) -> None:
    meta = parse_issue(SEEDS / "001_113e799c9f3168ec.txt", settings.read_options()).meta
    # No masthead and no full date in the text: paper and date stay unknown.
    assert meta.paper is None
    assert meta.date is None and meta.date_inferred is False
    assert meta.issue_no is None and meta.total_issue_no is None


def test_masthead_fields_and_hotline() -> None:
    lines = [
        Line(text)
        for text in (
            "临江报",
            "2023年3月8日 星期三",
            "农历癸卯年二月十七",
            "第5期 总第321期 本期4版",
            "新闻热线",
            "0571-12345678",
            "临江区启动老旧小区改造三年行动",
        )
    ]
    meta, start = parse_masthead(lines, "x.txt")
    assert start == 6
    assert (meta.paper, meta.date, meta.weekday) == ("临江报", "2023-03-08", "星期三")
    assert (meta.issue_no, meta.total_issue_no, meta.pages_in_issue) == (5, 321, 4)
    assert meta.lunar_date == "农历癸卯年二月十七"
    assert meta.hotline == "0571-12345678"


def test_digital_edition_suffix_is_not_part_of_the_paper_name() -> None:
    meta, _ = parse_masthead([Line("今日拱墅数字报"), Line("2024年6月14日")], "x.txt")
    assert meta.paper == "今日拱墅"


def test_known_papers_setting_names_unusual_papers() -> None:
    meta, _ = parse_masthead([Line("西湖之声"), Line("2024年6月14日")], "x.txt", ("西湖之声",))
    assert meta.paper == "西湖之声"


def test_date_inferred_from_file_name_then_text() -> None:
    assert infer_date("gsb_20210115_a01.txt", "") == "2021-01-15"
    assert infer_date("2020-06-12.pdf", "") == "2020-06-12"
    assert infer_date("issue.txt", "2019年3月1日和2019年4月2日上午开会") == "2019-04-02"
    assert infer_date("issue.txt", "6月28日上午召开会议，2021年7月底发布") is None


def test_inferred_date_is_marked(tmp_path, settings: Settings) -> None:
    path = tmp_path / "lj_20230308.txt"
    path.write_text(
        "区里召开推进会\n\n本报讯(记者 王小明)3月6日上午，区里召开推进会，部署全年工作。\n",
        encoding="utf-8",
    )
    meta = parse_issue(path, settings.read_options()).meta
    assert meta.date == "2023-03-08" and meta.date_inferred is True
