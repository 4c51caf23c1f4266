from __future__ import annotations

import datetime as dt

from qa.dates import DateMention, find_dates, parse_loose_date

TODAY = dt.date(2024, 6, 20)


def test_absolute_and_relative_dates() -> None:
    assert find_dates("2021年1月的全区疫情防控会议", TODAY) == [DateMention(2021, 1)]
    assert find_dates("2020年和2024年的报道中分别是谁", TODAY) == [
        DateMention(2020),
        DateMention(2024),
    ]
    assert find_dates("去年的招商引资", TODAY) == [DateMention(2023)]
    assert find_dates("今年5月开了什么会", TODAY) == [DateMention(2024, 5)]
    assert find_dates("二〇二一年的报道", TODAY) == [DateMention(2021)]
    assert find_dates("6月28日上午召开", TODAY) == []


def test_matching_grades() -> None:
    assert DateMention(2021, 1).matches("2021-01-15") == 2
    assert DateMention(2021, 1).matches("2021-03-15") == 1
    assert DateMention(2021).matches("2021-03-15") == 2
    assert DateMention(2021).matches("2020-03-15") == 0
    assert DateMention(2021).matches(None) == 1  # unknown date: maybe this year


def test_loose_dates() -> None:
    assert parse_loose_date("2023-7-28") == "2023-07-28"
    assert parse_loose_date("发稿时间：2023/08/04 10:00") == "2023-08-04"
    assert parse_loose_date("2023年8月4日") == "2023-08-04"
    assert parse_loose_date("记者：孙杰") is None
    assert parse_loose_date("2023-02-30") is None


def test_relative_years_are_written_out_for_the_model() -> None:
    from qa.dates import annotate_relative_years

    text = "今年3月4日,黄平县脱贫摘帽;去年9月投用。"
    assert annotate_relative_years(text, "2020-06-12") == (
        "今年（2020年）3月4日,黄平县脱贫摘帽;去年（2019年）9月投用。"
    )
    assert annotate_relative_years(text, None) == text
    once = annotate_relative_years(text, "2020-06-12")
    assert annotate_relative_years(once, "2020-06-12") == once
