"""Prompt templates, kept as plain files in ``prompts/`` and loaded by name.

A file is split into sections by lines such as ``[system]`` and ``[user]``; chat prompts
become LangChain ``ChatPromptTemplate`` objects with those two roles.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate

from index.errors import ArchiveQAError
from qa.settings import PROJECT_ROOT

PROMPT_DIR = PROJECT_ROOT / "prompts"
_SECTION = re.compile(r"^\[([a-z_]+)\]\s*$", re.MULTILINE)


@cache
def read_sections(name: str, folder: Path = PROMPT_DIR) -> dict[str, str]:
    """The named sections of ``prompts/<name>.txt``."""
    path = folder / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ArchiveQAError(f"找不到提示词文件（{exc.strerror}）", source=str(path)) from exc
    parts = _SECTION.split(text)
    sections = {key: body.strip() for key, body in zip(parts[1::2], parts[2::2], strict=True)}
    if not sections:
        raise ArchiveQAError("提示词文件没有 [section] 分段", source=str(path))
    return sections


def chat_prompt(name: str) -> ChatPromptTemplate:
    """A chat prompt from ``prompts/<name>.txt``: its ``[system]`` section (when it has
    one) and its ``[user]`` section."""
    sections = read_sections(name)
    if "user" not in sections:
        raise ArchiveQAError("提示词缺少分段：user", source=f"prompts/{name}.txt")
    messages = [("system", sections["system"])] if "system" in sections else []
    return ChatPromptTemplate.from_messages([*messages, ("human", sections["user"])])


def refusal_text(leads: list[str]) -> str:
    """The refusal sentence, followed by the closest articles as leads."""
    sections = read_sections("refusal")
    text = sections["refusal"]
    if leads:
        text += "\n" + sections["leads"] + "\n" + "\n".join(f"- {lead}" for lead in leads)
    return text


def refusal_phrase() -> str:
    """The bare refusal ("资料中没有相关信息"), as models are asked to write it."""
    return read_sections("refusal")["refusal"].rstrip("。")
