"""Answers without a language model: the passage sentences that best cover the question.

Each chosen sentence is quoted verbatim with the number of its passage, so every word of an
extractive answer is checkable. Used for ``ARCHIVE_QA_LLM=none`` and as the fallback when the
model cannot be reached.
"""

from __future__ import annotations

import re

from qa.citations import split_sentences
from qa.context import weighted_coverage

# A news file's opening line as CRUD-style corpora print it ("2023-08-02 07:27:03，正文：…",
# "，正文：…"): the date and label are the file's, not an answer to anything.
DATELINE = re.compile(r"^[\d\-/:年月日 ]*[，,]?\s*正文[：:]\s*")
MIN_SENTENCE_CHARS = 6
MAX_SENTENCES = 2
SECOND_SENTENCE_RATIO = 0.6  # a second sentence must score at least this share of the best


def quotable_sentences(text: str) -> list[str]:
    """The sentences of a passage that an extract may quote, stripped; an opening line
    without its dateline and "正文：" label."""
    return [DATELINE.sub("", sentence.strip()) for sentence, _ in split_sentences(text)]


def extract(
    passages: dict[int, str],
    weights: dict[str, float],
    must_print: re.Pattern[str] | None = None,
    max_sentences: int = MAX_SENTENCES,
) -> tuple[str, float]:
    """The answer text (sentences with ``[n]`` markers) and the best sentence's coverage.

    ``passages`` maps citation numbers to passage texts in rank order; ``weights`` are the
    question's token weights (IDF), so rare question words count most. With
    ``must_print`` only sentences that print it (a date, a number) are considered.
    """
    candidates: list[tuple[float, int, int, str]] = []
    for number, text in passages.items():
        for position, sentence in enumerate(quotable_sentences(text)):
            if len(sentence) < MIN_SENTENCE_CHARS:
                continue
            if must_print is not None and not must_print.search(sentence):
                continue
            # Earlier passages win ties: they ranked higher for the whole question.
            score = weighted_coverage(sentence, weights) - 0.001 * number
            candidates.append((score, number, position, sentence))
    if not candidates:
        return "", 0.0
    candidates.sort(key=lambda item: item[0], reverse=True)
    best = candidates[0]
    chosen = [best]
    for candidate in candidates[1:]:
        if len(chosen) == max_sentences or candidate[0] < SECOND_SENTENCE_RATIO * best[0]:
            break
        if candidate[3] not in best[3] and best[3] not in candidate[3]:
            chosen.append(candidate)
    # Keep the printed order when both sentences come from one passage.
    chosen.sort(key=lambda item: (item[1] != best[1], item[1], item[2]))
    text = "".join(_cite(sentence, number) for _, number, _, sentence in chosen)
    return text, max(best[0], 0.0)


NEAR_CHARS = 12  # how close the asked detail must print to the focus word
ENUMERATION = re.compile(r"[、；;]")


def extract_near(
    passages: dict[int, str],
    weights: dict[str, float],
    focus: str,
    must_print: re.Pattern[str] | None,
) -> str:
    """The sentence that prints the asked thing next to the question's focus word: "入住总
    人数达4500余人" for "住了多少人", not the article's lead sentence that shares the most
    question words. With ``must_print`` (a number in the asked unit, a date) the match
    must stand within `NEAR_CHARS` of the focus word; the best-covering such sentence wins."""
    best: tuple[float, int, str] | None = None
    for number, text in passages.items():
        for sentence in quotable_sentences(text):
            places = [m.start() for m in re.finditer(re.escape(focus), sentence)]
            if len(sentence) < MIN_SENTENCE_CHARS or not places:
                continue
            if must_print is not None and not any(
                abs(m.start() - place) <= NEAR_CHARS + len(focus)
                for m in must_print.finditer(sentence)
                for place in places
            ):
                continue
            score = weighted_coverage(sentence, weights) - 0.001 * number
            if best is None or score > best[0]:
                best = (score, number, sentence)
    return _cite(best[2], best[1]) if best else ""


def extract_list(passages: dict[int, str], weights: dict[str, float]) -> str:
    """For a question asking for several things: the best-covering sentence that
    enumerates (at least two "、" or "；"), with the enumerating sentence after it when
    the list goes on there."""
    best: tuple[float, int, int, str] | None = None
    sentences = {n: quotable_sentences(t) for n, t in passages.items()}
    for number, group in sentences.items():
        for position, sentence in enumerate(group):
            if len(ENUMERATION.findall(sentence)) < 2:
                continue
            score = weighted_coverage(sentence, weights) - 0.001 * number
            if best is None or score > best[0]:
                best = (score, number, position, sentence)
    if best is None:
        return ""
    _, number, position, sentence = best
    text = _cite(sentence, number)
    following = sentences[number][position + 1 : position + 2]
    if following and len(ENUMERATION.findall(following[0])) >= 2:
        text += _cite(following[0], number)
    return text


def _cite(sentence: str, number: int) -> str:
    body = sentence.rstrip("。！？!?；;")
    return f"{body}[{number}]{sentence[len(body) :] or '。'}"
