"""What the APIs take and give, shared by the web app's /ask and the OpenAI-compatible /v1:
chat history and filter checks with Chinese messages, and an answer or citation as JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from index.errors import ArchiveQAError
from qa.answer import Answer, Citation
from qa.retrieve import Filters


def valid_history(history: Any) -> bool:
    """Is ``history`` None or a list of {role: user|assistant, content: text} messages?"""
    return history is None or (
        isinstance(history, list)
        and all(
            isinstance(m, dict)
            and m.get("role") in ("user", "assistant")
            and isinstance(m.get("content"), str)
            for m in history
        )
    )


def citation_json(citation: Citation) -> dict[str, Any]:
    """One citation with its provenance, quote and the reference staff paste."""
    passage = citation.passage
    return {
        "number": citation.number,
        "paper": passage.get("paper"),
        "date": passage.get("date"),
        "date_inferred": passage.get("date_inferred"),
        "issue_no": passage.get("issue_no"),
        "total_issue_no": passage.get("total_issue_no"),
        "page": passage.get("page"),
        "title": passage.get("title"),
        "article_id": passage.get("article_id"),
        "passage_id": citation.passage_id,
        "source_file": passage.get("source_file"),
        "quote": citation.quote,
        "reference": citation.reference,
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    """The answer as the /ask API returns it."""
    return {
        "text": answer.text,
        "refused": answer.refused,
        "standalone_question": answer.standalone_question,
        "citations": [citation_json(c) for c in answer.citations],
        "leads": answer.leads,
        "notices": answer.notices,
        "backend": answer.backend,
        "timings": answer.timings,
    }


def parse_filters(
    papers: list[str] | str | None, date_from: str | None, date_to: str | None
) -> Filters:
    """Filters as people type them; dates YYYY-MM-DD (a year or year-month is widened)."""
    if isinstance(papers, str):
        papers = [papers]
    if papers is not None and not (
        isinstance(papers, list) and all(isinstance(p, str) for p in papers)
    ):
        raise ArchiveQAError("报纸筛选必须是报名或报名列表")
    return Filters(
        tuple(p.strip() for p in papers or () if p.strip()),
        _date_bound(date_from, "起始日期", start=True),
        _date_bound(date_to, "截止日期", start=False),
    )


def _date_bound(text: Any, label: str, *, start: bool) -> str | None:
    if text is not None and not isinstance(text, str):
        raise ArchiveQAError(f"{label}必须是文本，例如 2020-06-12")
    text = (text or "").strip()
    if not text:
        return None
    parts = text.replace("/", "-").replace(".", "-").split("-")
    try:
        numbers = [int(p) for p in parts if p]
        if len(numbers) == 1:
            numbers += [1, 1] if start else [12, 31]
        elif len(numbers) == 2:
            if start:
                numbers.append(1)
            else:
                following = dt.date(numbers[0] + numbers[1] // 12, numbers[1] % 12 + 1, 1)
                numbers.append((following - dt.timedelta(days=1)).day)
        return dt.date(*numbers[:3]).isoformat()
    except (ValueError, TypeError) as exc:
        raise ArchiveQAError(f"{label}“{text}”不是日期，请写成 2020-06-12 这样的格式") from exc
