"""Follow-up questions rewritten into standalone ones, so retrieval sees the subject.

With a chat model the ``condense`` prompt does it; without one (extractive mode, or when the
model fails or answers off the point) a rule carries the earlier question along.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel

from qa.citations import strip_markers
from qa.prompts import chat_prompt, refusal_phrase

logger = logging.getLogger(__name__)

HISTORY_TURNS = 4  # messages of history shown to the model
# Characters of each earlier turn shown to the model. The subject of a follow-up sits in the
# earlier question and the first words of the answer; every character costs the local model
# about 20 ms of reading.
TURN_CHARS = {"user": 200, "assistant": 100}
RULE_ANSWER_CHARS = 40  # of the last answer, carried along by the rule-based rewrite
_QUESTION_TAIL = re.compile(r"[？?。！!\s]+$")


def user_turns(history: list[dict[str, Any]]) -> list[str]:
    return [str(turn.get("content", "")) for turn in history if turn.get("role") == "user"]


_CARRIED = re.compile(r"（上一问：.*）$", re.S)


def carried_context(question: str) -> tuple[str, str]:
    """A rule-rewritten follow-up split into the question it asks and the earlier turn
    carried along for retrieval ("" when there is none): what is asked, and so its parts,
    kind and unit, comes from the question alone, not from the earlier question or answer."""
    match = _CARRIED.search(question)
    return (question[: match.start()], match.group()) if match else (question, "")


def rule_based(question: str, history: list[dict[str, Any]]) -> str:
    """This question, then the last earlier one it refers to and the start of its answer:
    "那它有什么特色？（上一问：开放的是哪家酒店；答：往来酒店）" keeps the subject for
    retrieval and tells the model what "它" is, while the model answers this question."""
    earlier = user_turns(history)
    if not earlier:
        return question
    context = f"上一问：{_QUESTION_TAIL.sub('', earlier[-1])}"
    answer = _last_answer(history)
    if answer:
        context += f"；答：{answer}"
    return f"{question}（{context}）"


def _answer_line(answer: str) -> str:
    """An earlier answer's first line (the answer proper, before any lead list), without
    citation markers."""
    return strip_markers(answer.strip().split("\n")[0])


def _last_answer(history: list[dict[str, Any]]) -> str:
    """The first words of the answer to the last question (nothing after a refusal)."""
    if not history or history[-1].get("role") != "assistant":
        return ""
    first_line = _answer_line(str(history[-1].get("content", "")))
    if refusal_phrase() in first_line:
        return ""
    return _QUESTION_TAIL.sub("", re.sub(r"\s+", " ", first_line))[:RULE_ANSWER_CHARS]


def _format_history(history: list[dict[str, Any]]) -> str:
    """The last turns, answers without their citation markers and lead lists."""
    names = {"user": "用户", "assistant": "助手"}
    lines = []
    for turn in history[-HISTORY_TURNS:]:
        role = "assistant" if turn.get("role") == "assistant" else "user"
        content = str(turn.get("content", ""))
        if role == "assistant":
            content = _answer_line(content)
        content = re.sub(r"\s+", " ", content)[: TURN_CHARS[role]]
        lines.append(f"{names[role]}：{content}")
    return "\n".join(lines)


# A rewrite that still opens with "那/这/该" or says "它" has not named what it refers to.
_STILL_REFERS = re.compile(r"^[那这该]|它")


def _plausible(rewritten: str, question: str) -> bool:
    """Small models sometimes answer instead of rewriting, return nothing, or keep the
    pronoun ("那会议是何时召开的？")."""
    return (
        2 <= len(rewritten) <= max(3 * len(question), 80)
        and "\n" not in rewritten
        and not _STILL_REFERS.search(rewritten)
    )


def condense(question: str, history: list[dict[str, Any]], model: BaseChatModel | None) -> str:
    """A standalone form of ``question`` given the chat ``history`` ({role, content} dicts).

    Model failures are not the user's problem here: the rule-based form is used instead.
    """
    if not user_turns(history):
        return question
    if model is None:
        return rule_based(question, history)
    messages = chat_prompt("condense").format_messages(
        history=_format_history(history), question=question
    )
    try:
        rewritten = str(model.invoke(messages).content).strip().strip('"“”')
    except Exception as exc:  # any backend fault falls back to the rule
        logger.warning("condense failed (%s); using the rule", type(exc).__name__)
        return rule_based(question, history)
    rewritten = rewritten.removeprefix("改写后的问题：").strip()
    return rewritten if _plausible(rewritten, question) else rule_based(question, history)


def translate_for_search(question: str, model: BaseChatModel) -> str:
    """A Simplified Chinese version of a question asked in another language, to search the
    Chinese archive with ("" when the model fails). Small models translate loosely, so the
    translation is added to the question, not put in its place."""
    messages = chat_prompt("translate").format_messages(question=question)
    try:
        translated = str(model.invoke(messages).content).strip()
    except Exception as exc:  # any backend fault: search with the question as asked
        logger.warning("translation failed (%s)", type(exc).__name__)
        return ""
    return translated if _plausible(translated, question) else ""
