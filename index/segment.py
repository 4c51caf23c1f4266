"""Split the cleaned lines of an issue into articles.

A newspaper page reaches us as OCR lines with no markup, so structure comes from what print
conventions leave in the text:

1. Each line is classified: headline candidate, byline paragraph ("本报讯(记者…)"), photo
   caption ("陈骋/摄"), 导读 box, jump marker ("(下转2版)" / "(上接1版)"), or body.
2. Body lines broken inside a sentence (by columns, pages or a caption placed in between)
   are re-joined into paragraphs; a line that does not end a sentence runs on.
3. A byline always opens a new article. The headline lines right above it may hold the tail
   of the previous article (a headline printed below its story, a photo label); the split
   point is where each line's words fit best (character bigram overlap).
4. A headline followed by plain body text is either an intertitle of the current article or
   the start of an article without byline; the TF-IDF cosine between the text that follows
   and the article so far decides (lexical cohesion, as in TextTiling).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field

import jieba

from index.clean import Line, is_furniture, running_head_page
from index.schema import Article, IssueMeta

jieba.setLogLevel(logging.WARNING)
log = logging.getLogger(__name__)

_SENTENCE_END = tuple("。！？!?…")
_CLOSERS = tuple("”’」』）)")
_INNER_PUNCT = re.compile(r"[，,。；;：:！!？?]")
_BYLINE = re.compile(
    r"^(本报讯|本报记者|新华社|人民网|中新网|据[^，,。]{1,12}报道|通讯员|记者)"
    r"|^[(（]\s*(记者|通讯员|本报记者|综合报道)"
)
_BYLINE_PREFIX = re.compile(
    r"^((本报讯|本报记者|新华社[^(（]{0,12}电|据[^，,。]{1,12}报道)\s*)?[(（][^()（）]{1,60}[)）]"
)
_CAPTION = re.compile(r"([/／]|\s|记者|通讯员)\s*[\u4e00-\u9fff·]{0,8}\s*(摄影?|供图)\s*[)）]?$")
_JUMP_OUT = re.compile(r"[(（]\s*下转\s*(?:第\s*)?([A-Z]?\d{1,2})\s*版\s*[)）]")
_JUMP_IN = re.compile(r"^[(（]\s*上接\s*(?:第\s*)?([A-Z]?\d{1,2})\s*版\s*[)）]\s*")
_GUIDE_HEAD = re.compile(r"^(导读|本期导读|今日导读|要闻导读)$")
_GUIDE_REF = re.compile(r"详见|见第?\s*[A-Z]?\d{1,2}\s*[、,，]?\s*(\d{1,2}\s*)?版")
_EDITOR_NOTE = re.compile(r"^(编者按|编者的话|编前语)\s*[:：]")
_TITLE_FROM_SENTENCE = re.compile(r"[。！？!?；;]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def _bigrams(text: str) -> list[str]:
    """Chinese character bigrams, within runs of Chinese characters."""
    return [run[i : i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]


@dataclass
class _Unit:
    """A classified piece of the issue, in reading order."""

    kind: str  # heading | para | caption
    lines: list[str]
    page: int | None
    byline: bool = False
    jump_out: str | None = None
    jump_in: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.lines) if self.kind == "para" else " ".join(self.lines)


@dataclass
class _Draft:
    """An article being assembled."""

    title_lines: list[str]
    page: int | None
    paragraphs: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    byline: str | None = None
    jump_out: str | None = None
    continued: bool = False
    intertitles: list[str] = field(default_factory=list)
    has_body: bool = False  # more than an editor's note

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)


def is_heading_candidate(line: str, next_line: str | None, max_chars: int) -> bool:
    """Could `line` be a headline? Short, no sentence punctuation, and not a broken sentence.

    A line that stops inside a word ("…创新型医疗" + "器械企业…") is a broken sentence: jieba
    is asked whether a word spans the line break.
    """
    if len(line) > max_chars or len(line) < 2:
        return False
    if _INNER_PUNCT.search(line) or (line.endswith(("、", "—")) and not line.startswith("——")):
        return False
    if _BYLINE.match(line) or _CAPTION.search(line):
        return False
    if next_line is None:
        return True
    if next_line[0] in "，,。、；;：:！!？?）)”’":
        return False
    return not _word_spans_break(line, next_line)


def _word_spans_break(left: str, right: str) -> bool:
    tail, head = left[-6:], right[:6]
    position = 0
    for token in jieba.cut(tail + head, HMM=False):
        start, position = position, position + len(token)
        if start < len(tail) < position and re.fullmatch(r"[\u4e00-\u9fff]+", token):
            return True
    return False


def _ends_sentence(text: str) -> bool:
    stripped = text.rstrip()
    if stripped.endswith(_SENTENCE_END):
        return True
    return stripped.endswith(_CLOSERS) and (len(stripped) < 2 or stripped[-2] in "。！？!?…)）")


def _classify(lines: list[Line], max_chars: int) -> tuple[list[_Unit], list[str], list[str]]:
    """Lines → units, with paragraphs re-joined. Returns units, guide lines, dropped lines."""
    units: list[_Unit] = []
    guide: list[str] = []
    dropped: list[str] = []
    open_para: _Unit | None = None  # a paragraph whose last sentence is not finished
    in_guide = False
    guide_gap = 0
    page: int | None = None
    for index, line in enumerate(lines):
        text = line.text
        page = line.page if line.page is not None else page
        if is_furniture(text):
            page = running_head_page(text) or page
            dropped.append(text)
            continue
        if _GUIDE_HEAD.match(text):
            in_guide, guide_gap = True, 0
            guide.append(text)
            continue
        if in_guide:
            if _GUIDE_REF.search(text):
                guide_gap = 0
                guide.append(text)
                continue
            lookahead = [later.text for later in lines[index + 1 : index + 4]]
            if guide_gap < 3 and any(_GUIDE_REF.search(later) for later in lookahead):
                guide_gap += 1
                guide.append(text)
                continue
            in_guide = False
        if _CAPTION.search(text) and len(text) <= 100 and not _ends_sentence(text):
            units.append(_Unit("caption", [text], page))
            continue
        next_text = _next_content_line(lines, index)
        starts_byline = bool(_BYLINE.match(text))
        if _JUMP_OUT.fullmatch(text) and units and units[-1].kind == "para":
            units[-1].jump_out = _JUMP_OUT.fullmatch(text).group(1)
            open_para = None
            continue
        heads_byline = next_text is not None and bool(_BYLINE.match(next_text))
        if (
            open_para is not None
            and not starts_byline
            and not _EDITOR_NOTE.match(text)
            and not (heads_byline and is_heading_candidate(text, next_text, max_chars))
        ):
            open_para.lines.append(text)
            _finish_line(open_para)
            if _ends_sentence(open_para.lines[-1]) or open_para.jump_out:
                open_para = None
            continue
        if not starts_byline and is_heading_candidate(text, next_text, max_chars):
            if units and units[-1].kind == "heading":
                units[-1].lines.append(text)
            else:
                units.append(_Unit("heading", [text], page))
            continue
        unit = _Unit("para", [text], page, byline=starts_byline)
        _finish_line(unit)
        units.append(unit)
        open_para = None if _ends_sentence(unit.lines[-1]) or unit.jump_out else unit
    return units, guide, dropped


def _next_content_line(lines: list[Line], index: int) -> str | None:
    for later in lines[index + 1 :]:
        if not is_furniture(later.text) and not _CAPTION.search(later.text):
            return later.text
    return None


def _finish_line(unit: _Unit) -> None:
    """Strip jump markers from the newest line of a paragraph and remember them."""
    last = unit.lines[-1]
    if match := _JUMP_IN.match(last):
        unit.jump_in = match.group(1)
        last = last[match.end() :]
    if match := _JUMP_OUT.search(last):
        unit.jump_out = match.group(1)
        last = (last[: match.start()] + last[match.end() :]).strip()
    unit.lines[-1] = last


def _bigram_overlap(line: str, text: str) -> float:
    """Share of the line's Chinese character bigrams that occur in `text` (unweighted)."""
    grams = set(_bigrams(line))
    if not grams:
        return 0.0
    return sum(1 for gram in grams if gram in text) / len(grams)


def _split_heading_block(
    lines: list[str], previous: str | None, following: str, lexicon: _Lexicon
) -> int:
    """How many of the heading `lines` (from the top) belong to the previous article."""
    if previous is None or len(lines) == 1:
        return 0
    best_cut, best_score = 0, float("-inf")
    for cut in range(len(lines)):  # the last line always heads the next article
        score = sum(lexicon.overlap(line, previous) for line in lines[:cut]) + sum(
            lexicon.overlap(line, following) for line in lines[cut:]
        )
        if score > best_score + 1e-9:
            best_cut, best_score = cut, score
    return best_cut


def _section_after(units: list[_Unit], start: int) -> str:
    """Text of the paragraphs from `start` up to the next heading or byline."""
    parts: list[str] = []
    for unit in units[start:]:
        if unit.kind == "heading" or (unit.byline and parts):
            break
        if unit.kind == "para":
            parts.append(unit.text)
    return "\n".join(parts)


class _Lexicon:
    """Character-bigram statistics of one issue: IDF-weighted overlap and TF-IDF cosine.

    Bigrams that many paragraphs share ("工作", "拱墅") say little about which story a line
    belongs to; weighting by inverse document frequency lets the rare ones decide. (Plain
    counters: sklearn's vectoriser cost 30 ms an issue, more than all the rest of parsing.)
    """

    def __init__(self, texts: list[str]) -> None:
        self._document_frequency: Counter[str] = Counter()
        for text in texts:
            self._document_frequency.update(set(_bigrams(text)))
        self._documents = len(texts)

    def _idf(self, gram: str) -> float:
        return math.log((1 + self._documents) / (1 + self._document_frequency[gram])) + 1

    def _weights(self, text: str) -> dict[str, float]:
        counts = Counter(_bigrams(text))
        return {gram: (1 + math.log(count)) * self._idf(gram) for gram, count in counts.items()}

    def cosine(self, left: str, right: str) -> float:
        a, b = self._weights(left), self._weights(right)
        dot = sum(weight * b[gram] for gram, weight in a.items() if gram in b)
        norms = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(
            sum(w * w for w in b.values())
        )
        return dot / norms if norms else 0.0

    def overlap(self, line: str, text: str) -> float:
        grams = set(_bigrams(line))
        if not grams:
            return 0.0
        weights = {gram: self._idf(gram) for gram in grams}
        shared = sum(weight for gram, weight in weights.items() if gram in text)
        return shared / sum(weights.values())


def _shape(heading: str) -> tuple[int, int, int]:
    """Length, quote marks and spaces of a heading: intertitles of one story share them."""
    return len(heading), sum(heading.count(q) for q in '“”"「」'), heading.count(" ")


def _is_intertitle(
    unit: _Unit, following: str, current: _Draft, lexicon: _Lexicon, min_cohesion: float
) -> bool:
    """Is a heading followed by body text (no byline) an intertitle of the current article?

    Yes when its section and its words are cohesive with the article so far (sum of three
    lexical measures: TF-IDF cosine of the sections, IDF-weighted containment of the section
    and of the heading in the article), or when it has the shape of an earlier intertitle
    of the same article (parallel intertitles such as "化“危”为“机” …" / "破“旧”立“新” …").
    """
    heading = unit.text
    cohesion = (
        lexicon.cosine(current.body, following)
        + lexicon.overlap(following, current.body)
        + lexicon.overlap(heading, current.body)
    )
    if cohesion >= min_cohesion:
        return True
    length, quotes, spaces = _shape(heading)
    return any(
        abs(other[0] - length) <= 2 and other[1:] == (quotes, spaces)
        for other in map(_shape, current.intertitles)
    )


def _inferred_title(paragraphs: list[str]) -> str:
    text = paragraphs[0] if paragraphs else ""
    text = _BYLINE_PREFIX.sub("", text, count=1)
    sentence = _TITLE_FROM_SENTENCE.split(text, maxsplit=1)[0]
    return sentence[:30] + ("…" if len(sentence) > 30 else "")


def segment(
    lines: list[Line],
    meta: IssueMeta,
    source_file: str,
    content_hash: str,
    *,
    heading_max_chars: int = 64,
    intertitle_min_cohesion: float = 0.15,
    default_page: int | None = None,
) -> tuple[list[Article], list[str], list[str]]:
    """Articles of one issue, plus the 导读 lines and the dropped lines (furniture, orphans)."""
    units, guide, dropped = _classify(lines, heading_max_chars)
    lexicon = _Lexicon([unit.text for unit in units if unit.kind == "para"])
    drafts: list[_Draft] = []
    current: _Draft | None = None
    preface: list[str] = []  # 编者按 waiting for the article it introduces

    def start(title_lines: list[str], page: int | None) -> _Draft:
        draft = _Draft(title_lines, page if page is not None else default_page)
        drafts.append(draft)
        return draft

    for position, unit in enumerate(units):
        if unit.kind == "caption":
            if current is not None:
                current.captions.append(unit.text)
            else:
                dropped.append(unit.text)
            continue
        if unit.kind == "heading":
            follower = units[position + 1] if position + 1 < len(units) else None
            following = _section_after(units, position + 1)
            if follower is None or not following:
                dropped.extend(unit.lines)  # a headline whose story is on another page
                continue
            if follower.byline or follower.jump_in:
                cut = _split_heading_block(
                    unit.lines, current.body if current else None, following, lexicon
                )
                if cut and current is not None:
                    _attach_tail(current, unit.lines[:cut])
                current = start(unit.lines[cut:], unit.page)
                current.paragraphs.extend(preface)
                preface = []
                continue
            if current is not None and _is_intertitle(
                unit, following, current, lexicon, intertitle_min_cohesion
            ):
                current.paragraphs.append(unit.text)
                current.intertitles.append(unit.text)
                continue
            current = start(unit.lines, unit.page)
            current.paragraphs.extend(preface)
            preface = []
            continue
        # a paragraph
        text = unit.text
        if _EDITOR_NOTE.match(text):
            preface.append(text)
            continue
        if unit.jump_in and (target := _jump_target(drafts, current, unit.jump_in)):
            if current is not None and current is not target and not current.paragraphs:
                drafts.remove(current)  # the jump headline repeated above the continuation
            current = target
            current.continued = True
            current.jump_out = None
        elif current is None or (unit.byline and current.has_body):
            current = start([], unit.page)
            current.paragraphs.extend(preface)
            preface = []
        if unit.byline and current.byline is None:
            match = _BYLINE_PREFIX.match(text)
            current.byline = match.group(0) if match else text[:40]
        current.paragraphs.append(text)
        current.has_body = True
        if unit.jump_out:
            current.jump_out = unit.jump_out
    dropped.extend(preface)
    articles = [
        _to_article(draft, number, meta, source_file, content_hash)
        for number, draft in enumerate(d for d in drafts if d.paragraphs)
    ]
    _assign_spans(articles)
    return articles, guide, dropped


def _attach_tail(draft: _Draft, lines: list[str]) -> None:
    """Headline lines printed below a story: its missing title, else labels of its photo."""
    if not draft.title_lines:
        draft.title_lines = list(lines)
    else:
        draft.captions.extend(lines)


def _jump_target(drafts: list[_Draft], current: _Draft | None, page: str) -> _Draft | None:
    """The article that jumped out ("下转") to the page that this continuation comes from."""
    open_jumps = [d for d in drafts if d.jump_out is not None and d is not current]
    if not open_jumps:
        return None
    heading = " ".join(current.title_lines) if current is not None else ""
    return max(open_jumps, key=lambda d: _bigram_overlap(heading, " ".join(d.title_lines)))


def _to_article(
    draft: _Draft, number: int, meta: IssueMeta, source_file: str, content_hash: str
) -> Article:
    titles = [line for line in draft.title_lines if not line.startswith("——")]
    subtitles = [line.lstrip("—") for line in draft.title_lines if line.startswith("——")]
    title = " ".join(titles) or _inferred_title(draft.paragraphs)
    text = "\n".join(draft.paragraphs + draft.captions)
    digest = hashlib.sha1(f"{content_hash}:{number}".encode()).hexdigest()[:16]
    return Article(
        id=digest,
        title=title,
        text=text,
        source_file=source_file,
        paper=meta.paper,
        date=meta.date,
        date_inferred=meta.date_inferred,
        issue_no=meta.issue_no,
        total_issue_no=meta.total_issue_no,
        page=draft.page,
        subtitle=" ".join(subtitles) or None,
        title_inferred=not titles,
        byline=draft.byline,
        captions=draft.captions,
        continued=draft.continued,
    )


def _assign_spans(articles: list[Article]) -> None:
    """Spans in the issue's cleaned text, which joins the articles with a blank line."""
    offset = 0
    for article in articles:
        article.span = (offset, offset + len(article.text))
        offset += len(article.text) + 2
