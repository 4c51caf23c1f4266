"""What a user typed, made fit for retrieval: checked, cut to length, simplified Chinese."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from opencc import OpenCC

from index.errors import ArchiveQAError
from index.hostile import strip_hostile


@lru_cache(maxsize=1)
def _to_simplified() -> OpenCC:
    return OpenCC("t2s")


@dataclass
class PreparedQuestion:
    text: str
    notices: list[str] = field(default_factory=list)


def prepare_question(raw: str | None, max_chars: int) -> PreparedQuestion:
    """Drop control characters and instructions to the model (index/hostile.py), refuse a
    question with nothing to search for, cut an over-long one (with a notice) and convert
    traditional characters to simplified ones, as the archive is printed in simplified."""
    text = "".join(ch for ch in (raw or "") if ch.isprintable() or ch in "\n\t").strip()
    if not text:
        raise ArchiveQAError("问题是空的，请输入要查询的内容")
    notices = []
    text, hostile = strip_hostile(text)
    if hostile:
        notices.append("已忽略问题中要求改变回答规则的部分，只按资料回答")
    if not any(ch.isalnum() for ch in text):
        raise ArchiveQAError(
            "问题里没有可查询的内容（只有标点、表情或给助手的指令），请用文字描述要查询的内容"
        )
    if len(text) > max_chars:
        notices.append(f"问题太长（{len(text)} 字），只使用了前 {max_chars} 字")
        text = text[:max_chars]
    simplified = _to_simplified().convert(text)
    if simplified != text:
        notices.append("已将繁体字转换为简体字再检索")
    return PreparedQuestion(simplified, notices)


def is_chinese(text: str) -> bool:
    """At least half the letters of ``text`` are Chinese characters (no letters: not)."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and 2 * sum("\u4e00" <= ch <= "\u9fff" for ch in letters) >= len(letters)
