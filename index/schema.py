"""Data model of ingestion: an issue (one source file) and its articles."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadedText:
    """Text read from one file, before any cleaning.

    `pages` holds one string per physical page when the format has pages (PDF); for plain
    text and HTML it holds the whole text as one element.
    """

    path: str
    file_format: str
    encoding: str | None
    pages: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.pages)


@dataclass
class IssueMeta:
    """Masthead metadata. Fields stay ``None`` when the issue does not print them."""

    paper: str | None = None
    paper_inferred: bool = False
    date: str | None = None  # ISO YYYY-MM-DD
    date_inferred: bool = False
    issue_no: int | None = None
    total_issue_no: int | None = None
    pages_in_issue: int | None = None  # "本期8版"
    weekday: str | None = None
    lunar_date: str | None = None
    hotline: str | None = None
    masthead_text: str = ""  # the masthead lines as printed, for display and search


@dataclass(kw_only=True)
class Provenance:
    """Where a text was printed: what a citation shows besides the text itself."""

    source_file: str
    title: str
    paper: str | None = None
    date: str | None = None
    date_inferred: bool = False
    issue_no: int | None = None
    total_issue_no: int | None = None
    page: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if "span" in data:
            data["span"] = list(data["span"])
        return data


@dataclass(kw_only=True)
class Article(Provenance):
    """One story of an issue, with everything a citation needs."""

    id: str
    text: str  # body paragraphs joined with "\n", then captions
    subtitle: str | None = None
    title_inferred: bool = False  # no headline printed; title built from the first sentence
    byline: str | None = None
    captions: list[str] = field(default_factory=list)
    continued: bool = False  # joined from a "(下转N版)" / "(上接N版)" continuation
    span: tuple[int, int] = (0, 0)  # in the issue's cleaned text


@dataclass
class Issue:
    """A parsed source file: metadata, articles, and what was left out and why."""

    source_file: str  # file name, as evidence in test sets names it
    source_path: str
    content_hash: str
    file_format: str
    encoding: str | None
    meta: IssueMeta
    articles: list[Article]
    pages_in_file: int | None = None
    guide: list[str] = field(default_factory=list)  # 导读 box lines, not articles
    dropped_lines: list[str] = field(default_factory=list)  # page furniture, OCR debris

    @property
    def cleaned_text(self) -> str:
        return "\n\n".join(article.text for article in self.articles)

    def to_dict(self) -> dict[str, Any]:
        meta = asdict(self.meta)
        return {
            "file": self.source_file,
            "path": self.source_path,
            "content_hash": self.content_hash,
            "format": self.file_format,
            "encoding": self.encoding,
            **meta,
            "pages_in_file": self.pages_in_file,
            "guide": self.guide,
            "dropped_lines": self.dropped_lines,
            "articles": [article.to_dict() for article in self.articles],
        }
