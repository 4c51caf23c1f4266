"""Articles → passages of a few sentences, never across articles.

Every passage carries its article's metadata (paper, date, issue, page, headline) and its
span inside the article text, so a citation needs no further lookup. The headline is part
of the text that is embedded and searched (`Passage.search_text`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.schema import Provenance

# Paragraphs first, then sentence ends, then clause breaks; full-width and ASCII forms.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "!", "?", "；", ";", "，", ",", "、", ""]


@dataclass(kw_only=True)
class Passage(Provenance):
    """A retrievable piece of an article (or of an issue's masthead)."""

    id: str
    article_id: str
    text: str
    span: tuple[int, int]  # in the article's text
    kind: str = "article"  # article | masthead

    @property
    def search_text(self) -> str:
        """What is embedded and BM25-indexed: headline, then the passage."""
        return f"{self.title}\n{self.text}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        return cls(**{**data, "span": tuple(data["span"])})


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )


def _passage_id(article_id: str, start: int, text: str) -> str:
    return hashlib.sha1(f"{article_id}:{start}:{text}".encode()).hexdigest()[:16]


def chunk_issue(issue: dict[str, Any], splitter: RecursiveCharacterTextSplitter) -> list[Passage]:
    """Passages of every article of a stored issue, plus one for its masthead if printed."""
    passages: list[Passage] = []
    for article in issue["articles"]:
        shared = {
            "article_id": article["id"],
            "title": article["title"],
            "source_file": issue["file"],
            "paper": article.get("paper"),
            "date": article.get("date"),
            "date_inferred": bool(article.get("date_inferred")),
            "issue_no": article.get("issue_no"),
            "total_issue_no": article.get("total_issue_no"),
            "page": article.get("page"),
        }
        for document in splitter.create_documents([article["text"]]):
            start = int(document.metadata["start_index"])
            text = document.page_content
            passages.append(
                Passage(
                    id=_passage_id(article["id"], start, text),
                    text=text,
                    span=(start, start + len(text)),
                    **shared,
                )
            )
    masthead = issue.get("masthead_text") or ""
    if masthead.strip():
        masthead_id = hashlib.sha1(f"{issue['content_hash']}:masthead".encode()).hexdigest()[:16]
        paper = issue.get("paper") or ""
        passages.append(
            Passage(
                id=_passage_id(masthead_id, 0, masthead),
                article_id=masthead_id,
                text=masthead,
                span=(0, len(masthead)),
                title=f"{paper}报头".strip(),
                source_file=issue["file"],
                paper=issue.get("paper"),
                date=issue.get("date"),
                date_inferred=bool(issue.get("date_inferred")),
                issue_no=issue.get("issue_no"),
                total_issue_no=issue.get("total_issue_no"),
                page=1,
                kind="masthead",
            )
        )
    return passages
