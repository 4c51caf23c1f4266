"""Masthead metadata: paper, date, issue numbers, edition size, hotline.

The masthead is the run of lines at the top of a front page that carry the paper's name,
date and numbers. Where an issue prints none, the date may be inferred from the file name or
from a full date named in the text; an inferred value is always marked as such.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePath

from index.clean import Line, has_cjk, is_furniture
from index.schema import IssueMeta

_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_FILE_DATE = re.compile(r"(?<!\d)(19\d{2}|20\d{2})[-_.年]?(\d{2})[-_.月]?(\d{2})(?!\d)")
_WEEKDAY = re.compile(r"星期[一二三四五六日天]|周[一二三四五六日]")
_LUNAR = re.compile(
    r"(农历)?\s*[甲乙丙丁戊己庚辛壬癸][子丑寅卯辰巳午未申酉戌亥]年\s*[正一二三四五六七八九十冬腊闰]+月"
    r"\s*[初十廿卅][一二三四五六七八九十]?"
)
_ISSUE = re.compile(r"(?<!总)第\s*(\d+)\s*期")
_TOTAL_ISSUE = re.compile(r"总\s*第\s*(\d+)\s*期")
_PAGES = re.compile(r"本期\s*(\d+)\s*版")
_HOTLINE = re.compile(r"新闻热线\s*[:：]?\s*([\d\-\s]*)")
_PHONE = re.compile(r"^[\d\-\s()（）]{7,}$")
_SPONSOR = re.compile(r"主办|承办|主管|编辑出版|出版发行|国内统一连续出版物号|邮发代号|CN\s*\d")
_LATIN_ONLY = re.compile(r"^[A-Za-z][A-Za-z .'-]*$")
_PAPER_SUFFIXES = ("数字报", "电子版", "客户端", "APP", "app")
_PAPER_NAME = re.compile(
    r"^(今日[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,6}(日报|晚报|周报|时报|快报|晨报|报))$"
)


def _paper_candidate(line: str, known_papers: tuple[str, ...]) -> str | None:
    for paper in known_papers:
        if paper in line:
            return paper
    name = line.replace(" ", "")
    for suffix in _PAPER_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            name = name[: -len(suffix)]
    return name if _PAPER_NAME.match(name) else None


# A line of prose (a full stop, or longer than any masthead line) is where content begins,
# even when it opens with a date: a plain article file may be one dated paragraph.
_MASTHEAD_LINE_MAX_CHARS = 160


def _is_masthead_line(line: str, known_papers: tuple[str, ...]) -> bool:
    if "。" in line or len(line) > _MASTHEAD_LINE_MAX_CHARS:
        return False
    return bool(
        is_furniture(line)
        or _DATE.search(line)
        or _LUNAR.search(line)
        or _ISSUE.search(line)
        or _TOTAL_ISSUE.search(line)
        or _PAGES.search(line)
        or _SPONSOR.search(line)
        or _PHONE.match(line)
        or (_LATIN_ONLY.match(line) and len(line) <= 40)
        or _paper_candidate(line, known_papers)
        or not has_cjk(line)
    )


def _iso(year: str, month: str, day: str) -> str | None:
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def infer_date(file_name: str, text: str) -> str | None:
    """A date for an issue without a masthead: from the file name, else the latest full date
    written in the text (news reports events up to the day before print). None if neither."""
    stem = PurePath(file_name).stem
    for match in _FILE_DATE.finditer(stem):
        if date := _iso(*match.groups()):
            return date
    dates = [d for m in _DATE.finditer(text) if (d := _iso(*m.groups()))]
    return max(dates) if dates else None


def parse_masthead(
    lines: list[Line], file_name: str, known_papers: tuple[str, ...] = ()
) -> tuple[IssueMeta, int]:
    """Read the masthead at the top of `lines`; return its metadata and where content starts."""
    end = 0
    while end < len(lines) and _is_masthead_line(lines[end].text, known_papers):
        end += 1
    zone = [line.text for line in lines[:end]]
    meta = IssueMeta(masthead_text="\n".join(zone))
    for index, text in enumerate(zone):
        if meta.date is None and (m := _DATE.search(text)):
            meta.date = _iso(*m.groups())
        if meta.weekday is None and (m := _WEEKDAY.search(text)):
            meta.weekday = m.group(0)
        if meta.lunar_date is None and (m := _LUNAR.search(text)):
            meta.lunar_date = m.group(0).replace(" ", "")
        if meta.issue_no is None and (m := _ISSUE.search(text)):
            meta.issue_no = int(m.group(1))
        if meta.total_issue_no is None and (m := _TOTAL_ISSUE.search(text)):
            meta.total_issue_no = int(m.group(1))
        if meta.pages_in_issue is None and (m := _PAGES.search(text)):
            meta.pages_in_issue = int(m.group(1))
        if meta.hotline is None and (m := _HOTLINE.search(text)):
            numbers = m.group(1).strip()
            following = [t for t in zone[index + 1 : index + 4] if _PHONE.match(t)]
            meta.hotline = numbers or " ".join(following) or None
        if meta.paper is None and (paper := _paper_candidate(text, known_papers)):
            meta.paper = paper
    return meta, end
