"""The pasteable reference of a citation, for every combination of printed fields."""

from __future__ import annotations

import pytest

from qa.cite_style import chinese_date, citation_list, formal_citation

FULL = {
    "paper": "今日拱墅",
    "date": "2021-01-15",
    "date_inferred": False,
    "issue_no": 2,
    "total_issue_no": 1110,
    "page": 1,
    "title": "运河边的新公园开园",
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "《今日拱墅》2021年1月15日，第2期（总第1110期），第1版，《运河边的新公园开园》。"),
        (
            {"page": None},
            "《今日拱墅》2021年1月15日，第2期（总第1110期），《运河边的新公园开园》。",
        ),
        (
            {"issue_no": None},
            "《今日拱墅》2021年1月15日，总第1110期，第1版，《运河边的新公园开园》。",
        ),
        (
            {"total_issue_no": None},
            "《今日拱墅》2021年1月15日，第2期，第1版，《运河边的新公园开园》。",
        ),
        (
            {"issue_no": None, "total_issue_no": None, "page": None},
            "《今日拱墅》2021年1月15日，《运河边的新公园开园》。",
        ),
        (
            {"date_inferred": True},
            "《今日拱墅》2021年1月15日（日期系推断），第2期（总第1110期），第1版，《运河边的新公园开园》。",
        ),
        (
            {"date": None},
            "《今日拱墅》日期不详，第2期（总第1110期），第1版，《运河边的新公园开园》。",
        ),
        (
            {"paper": None},
            "（报名不详）2021年1月15日，第2期（总第1110期），第1版，《运河边的新公园开园》。",
        ),
        (
            {"paper": "", "date": None, "issue_no": None, "total_issue_no": None, "page": None},
            "（报名不详）日期不详，《运河边的新公园开园》。",
        ),
        ({"title": ""}, "《今日拱墅》2021年1月15日，第2期（总第1110期），第1版。"),
        (
            {"title": "《民法典》进社区"},
            "《今日拱墅》2021年1月15日，第2期（总第1110期），第1版，《〈民法典〉进社区》。",
        ),
    ],
)
def test_formal_citation(changes: dict, expected: str) -> None:
    assert formal_citation({**FULL, **changes}) == expected


def test_missing_keys_read_as_unprinted() -> None:
    assert formal_citation({"title": "标题"}) == "（报名不详）日期不详，《标题》。"


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("2021-01-05", "2021年1月5日"),
        ("2020-12-31", "2020年12月31日"),
        (None, None),
        ("2021年", "2021年"),
    ],
)
def test_chinese_date(iso: str | None, expected: str | None) -> None:
    assert chinese_date(iso) == expected


def test_citation_list_numbers_each_line() -> None:
    assert citation_list([(1, "甲。"), (3, "乙。")]) == "[1] 甲。\n[3] 乙。"
