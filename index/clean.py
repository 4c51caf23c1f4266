"""OCR repair at line level: whitespace, spaces inside Chinese text, page furniture.

The output is a list of `Line`s (non-empty, stripped) with the page each came from. Paragraph
re-joining needs to know which lines are headlines, so it happens in `segment`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from index.hostile import strip_hostile

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_PUNCT = r"\u3000-\u303f\uff00-\uffef“”‘’—…·"
_CJK_CHAR = re.compile(f"[{CJK}]")
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{CJK}])[ \t]+(?=[{CJK}])")
# Whitespace next to a Chinese character or full-width punctuation mark, on either side.
_SPACE_NEXT_TO_CJK = re.compile(
    f'(?<=[{CJK}{CJK_PUNCT},.;:!?()"])[ \t]+|[ \t]+(?=[{CJK}{CJK_PUNCT},;:!?()"])'
)
_LEADING_BYLINE = re.compile(r"^(本报讯|本报记者)?\s*[(（][^()（）]{1,60}[)）]")

# Lines that are page furniture wherever they stand: running heads, URLs, hotlines, QR blurbs.
_FURNITURE = [
    re.compile(p)
    for p in (
        r"^(https?://|www\.)\S+$",
        r"^[\d\s\-—()（）+]{7,}$",  # phone numbers alone on a line
        r"^[-—\s]*\d{1,3}[-—\s]*$",  # page numbers
        r"(新闻|广告|发行|投稿|读者)?热线",
        r"扫一扫|扫码|二维码|微信公众号|公众号$|客户端$|\bAPP$|数字报$|门户网站$|电子版$",
        r"^(责任编辑|本版编辑|美术编辑|美编|校对|版式|版面设计|审校|编辑)\s*[:：/]",
        r"^第?\s*[A-Z]?\d{1,2}\s*版\s*[\u4e00-\u9fff]{0,6}$",  # "第2版 要闻"
    )
]
_FURNITURE_MAX_CHARS = 40
_RUNNING_HEAD = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日.{0,20}第?\s*[A-Z]?\d{1,2}\s*版"
)
_PAGE_IN_HEAD = re.compile(r"第?\s*[A-Z]?(\d{1,2})\s*版")


@dataclass(frozen=True)
class Line:
    """One non-empty line of an issue after cleaning, and the page it is printed on."""

    text: str
    page: int | None = None


def normalize_whitespace(text: str) -> str:
    """Unify exotic spaces and line breaks; keep full-width punctuation as printed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u3000", " ").replace("\xa0", " ").replace("\u200b", "")
    return re.sub(r"[ \t]+", " ", text)


def is_spaced_ocr(lines: list[str]) -> bool:
    """True when the text is full of spaces between Chinese characters (OCR of narrow columns).

    Counts spaces between two CJK characters per 100 characters of long lines (bylines, whose
    names are spaced on purpose, left out): ordinary print has almost none, column OCR has
    one every line-width.
    """
    long_lines = [_LEADING_BYLINE.sub("", line) for line in lines if len(line) >= 30]
    chars = sum(len(line) for line in long_lines)
    gaps = sum(len(_SPACE_BETWEEN_CJK.findall(line)) for line in long_lines)
    return gaps >= 5 and gaps * 100 / max(chars, 1) >= 1.0


def remove_cjk_spaces(line: str, *, keep_byline: bool) -> str:
    """Remove whitespace next to Chinese characters; keep it between Latin words and numbers.

    With `keep_byline`, a leading "本报讯(记者 X 通讯员 Y)" keeps its name separators.
    """
    head = ""
    if keep_byline and (match := _LEADING_BYLINE.match(line)):
        head, line = match.group(0), line[match.end() :]
    return head + _SPACE_NEXT_TO_CJK.sub("", line)


def is_furniture(line: str) -> bool:
    """Page furniture: running heads, URLs, hotline numbers, QR and app blurbs, page numbers."""
    if len(line) > _FURNITURE_MAX_CHARS and ("。" in line or not _RUNNING_HEAD.search(line)):
        return False  # a long line is furniture only as a running head, never as prose
    return bool(_RUNNING_HEAD.search(line)) or any(p.search(line) for p in _FURNITURE)


def running_head_page(line: str) -> int | None:
    """The page number a running head names ("2021年1月15日 第2版 要闻" → 2), if any."""
    if _RUNNING_HEAD.search(line) and (match := _PAGE_IN_HEAD.search(line)):
        return int(match.group(1))
    return None


def has_cjk(text: str) -> bool:
    return bool(_CJK_CHAR.search(text))


def is_scrambled(line: str) -> bool:
    """OCR debris from vertical or rotated headlines: many one- or two-character fragments."""
    tokens = line.split()
    if len(tokens) < 6:
        return False
    short = sum(1 for token in tokens if len(token) <= 2)
    return short / len(tokens) >= 0.6


def clean_pages(pages: list[str], heading_max_chars: int = 64) -> tuple[list[Line], list[str]]:
    """Clean every page into `Line`s. Returns the lines and the dropped debris lines.

    Spaces are removed inside Chinese text everywhere when the file is spaced OCR; otherwise
    only in lines too long to be a headline (headlines keep the spaces between their parts).
    """
    raw_pages = [
        [
            line.strip()
            for line in normalize_whitespace(unicodedata.normalize("NFC", page)).split("\n")
        ]
        for page in pages
    ]
    all_lines = [line for page in raw_pages for line in page if line]
    spaced = is_spaced_ocr(all_lines)
    result: list[Line] = []
    dropped: list[str] = []
    numbered = len(pages) > 1
    for page_no, page_lines in enumerate(raw_pages, start=1):
        for line in page_lines:
            if not line:
                continue
            if spaced and is_scrambled(line):
                dropped.append(line)
                continue
            line, hostile = strip_hostile(line)
            dropped.extend(hostile)
            if not line:
                continue
            if spaced:
                line = remove_cjk_spaces(line, keep_byline=False)
            elif len(line) > heading_max_chars:
                line = remove_cjk_spaces(line, keep_byline=True)
            result.append(Line(line, page_no if numbered else None))
    return result, dropped
