"""The parts of a question that asks several things.

"2021年和2024年的区委书记分别是谁？" asks about two issues' years; "瓜山未来社区有多少套房？
什么时候交付？" asks two questions in two clauses. Each part gets its own retrieval and its
own share of the context, and the verdict checks each part was answered (qa/verdict.py). A question with one part is returned as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.asked import QUESTION_WORD
from qa.condense import carried_context

YEAR = re.compile(r"(?:19|20)\d{2}\s*年")
_ASKS = re.compile(rf"{QUESTION_WORD.pattern}|多[大高长远重宽深]|呢\s*$")
# Where one asked clause ends and the next begins ("…是多少？什么时候…", "…在哪，谁负责…").
_CLAUSE_BREAK = re.compile(
    r"[？?；;！!]|[，,](?=[^，,？?]*(?:什么|哪|谁|多少|几|怎么|如何|是否|多[大高长远]))"
)
MAX_PARTS = 3


@dataclass(frozen=True)
class QuestionPart:
    text: str  # what this part asks, as shown to the model and in "没有提到…"
    query: str  # what is searched for this part


def _years(question: str) -> list[str]:
    return list(dict.fromkeys(re.sub(r"\s", "", y) for y in YEAR.findall(question)))


def _without_years(text: str, years: list[str]) -> str:
    """``text`` with the named years (and the "和" that joined them) taken out."""
    for year in years:
        text = re.sub(rf"[和与跟及、]?\s*{year[:4]}\s*年[初底末中]?(?:[和与跟及、])?", "", text)
    return text.strip()


def _asked_clauses(question: str) -> list[str]:
    """The clauses that ask something; a clause that asks nothing ("在大比武活动中，")
    is kept in front of the next one."""
    clauses, lead = [], ""
    for piece in (p.strip() for p in _CLAUSE_BREAK.split(question)):
        if not piece:
            continue
        if _ASKS.search(piece):
            clauses.append(f"{lead}，{piece}" if lead else piece)
            lead = ""
        else:
            lead = f"{lead}，{piece}" if lead else piece
    if lead and clauses:
        clauses[-1] += f"，{lead}"
    return clauses


def question_parts(question: str) -> list[QuestionPart]:
    """The parts of ``question``: one per asked clause, or one per year when a single
    clause names several years; a single part (the question itself) otherwise. A later
    clause is searched for together with the first ("…多少套房？什么时候交付？": what is
    delivered is named only in the first), without the first clause's own years. A follow-up's
    carried earlier turn (qa/condense.py) is no part: the parts are those of its own question."""
    asked = carried_context(question)[0]
    clauses = _asked_clauses(asked)
    years = _years(asked)
    if len(clauses) < 2:
        if len(years) < 2:
            return [QuestionPart(asked, asked)]
        return [
            QuestionPart(year, _without_years(asked, [y for y in years if y != year]))
            for year in years[:MAX_PARTS]
        ]
    first = clauses[0]
    parts = [QuestionPart(first, first)]
    for clause in clauses[1:MAX_PARTS]:
        subject = _without_years(first, _years(clause) and _years(first))
        parts.append(QuestionPart(clause, f"{subject} {clause}"))
    return parts
