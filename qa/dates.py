"""Dates named in a question: "2021年1月", "2024年6月14日", "2020年", "今年5月", "去年"."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ABSOLUTE = re.compile(r"(\d{4}|[〇零一二三四五六七八九]{4})\s*年(?:\s*(\d{1,2})\s*月)?")
_RELATIVE = re.compile(r"(今年|去年|前年|明年)(?:\s*(\d{1,2})\s*月)?")
_RELATIVE_OFFSET = {"今年": 0, "去年": -1, "前年": -2, "明年": 1}
_LOOSE_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


def parse_loose_date(text: str | None) -> str | None:
    """ISO date from "2023-7-28", "2023/07/28", "2023年7月28日" or text containing one."""
    match = _LOOSE_DATE.search(text or "")
    if not match:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return None


@dataclass(frozen=True)
class DateMention:
    """A year, optionally with a month, named in a question."""

    year: int
    month: int | None = None

    def matches(self, iso_date: str | None) -> int:
        """2 when an ISO date falls in this year and month, 1 in this year only, else 0.
        An issue of unknown date (a masthead that prints none) may be of any year: 1, so a
        year's search keeps it beside the issues dated that year, behind them when the
        words tie (its label says 日期未知)."""
        if not iso_date:
            return 1
        year, month = int(iso_date[:4]), int(iso_date[5:7])
        if year != self.year:
            return 0
        return 2 if self.month is None or self.month == month else 1


def _year(text: str) -> int:
    return int(text) if text.isdigit() else int("".join(str(_CN_DIGITS[c]) for c in text))


def find_dates(question: str, today: dt.date | None = None) -> list[DateMention]:
    """Years and months a question names; relative years count from `today`."""
    today = today or dt.date.today()
    mentions: list[DateMention] = []
    for match in _ABSOLUTE.finditer(question):
        month = int(match.group(2)) if match.group(2) else None
        mentions.append(
            DateMention(_year(match.group(1)), month if month and 1 <= month <= 12 else None)
        )
    for match in _RELATIVE.finditer(question):
        month = int(match.group(2)) if match.group(2) else None
        year = today.year + _RELATIVE_OFFSET[match.group(1)]
        mentions.append(DateMention(year, month if month and 1 <= month <= 12 else None))
    return list(dict.fromkeys(mentions))


_RELATIVE_YEAR = re.compile(r"(今年|去年|前年|明年)(?![（(]\d{4})")


def annotate_relative_years(text: str, issue_date: str | None) -> str:
    """ "今年3月4日" in a 2020 issue → "今年（2020年）3月4日": the year a reader of that issue
    understood, written out for a model that does not know when the paper came out."""
    if not issue_date:
        return text
    year = int(issue_date[:4])
    return _RELATIVE_YEAR.sub(
        lambda m: f"{m.group(1)}（{year + _RELATIVE_OFFSET[m.group(1)]}年）", text
    )
