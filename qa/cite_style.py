"""A citation as staff paste it into a document, in the usual Chinese newspaper style:

《今日拱墅》2021年1月15日，第2期（总第1110期），第1版，《标题》。

Fields the issue does not print are left out (no page, no issue number); an unknown paper
or date is named as unknown, and a date the ingestion inferred (not printed on the page) is
marked, so nobody cites a guess as fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

UNKNOWN_PAPER = "报名不详"
UNKNOWN_DATE = "日期不详"
INFERRED_DATE = "（日期系推断）"
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def chinese_date(iso: str | None) -> str | None:
    """2021-01-05 → 2021年1月5日 (anything else is returned as it is)."""
    if not iso:
        return None
    match = _ISO_DATE.fullmatch(iso.strip())
    if not match:
        return iso.strip()
    year, month, day = match.groups()
    return f"{year}年{int(month)}月{int(day)}日"


def _in_title_marks(text: str) -> str:
    """《text》, with title marks inside the text turned into the nested form 〈〉."""
    return "《" + text.replace("《", "〈").replace("》", "〉") + "》"


def formal_citation(source: Mapping[str, Any]) -> str:
    """The reference of one passage or article (a dict with the provenance fields)."""
    paper = (source.get("paper") or "").strip()
    head = _in_title_marks(paper) if paper else f"（{UNKNOWN_PAPER}）"
    date = chinese_date(source.get("date"))
    if date and source.get("date_inferred"):
        date += INFERRED_DATE
    pieces = [head + (date or UNKNOWN_DATE)]
    issue_no, total = source.get("issue_no"), source.get("total_issue_no")
    if issue_no is not None and total is not None:
        pieces.append(f"第{issue_no}期（总第{total}期）")
    elif issue_no is not None:
        pieces.append(f"第{issue_no}期")
    elif total is not None:
        pieces.append(f"总第{total}期")
    if source.get("page") is not None:
        pieces.append(f"第{source['page']}版")
    title = (source.get("title") or "").strip()
    if title:
        pieces.append(_in_title_marks(title))
    return "，".join(pieces) + "。"


def citation_list(references: Iterable[tuple[int, str]]) -> str:
    """Numbered references, one per line: what "复制全部出处" copies and ``ask --cite`` prints."""
    return "\n".join(f"[{number}] {reference}" for number, reference in references)
