"""Repairs for two slips a small model makes when the passages do hold the answer.

- A "when" question answered without a date, or a "第几期/第几次…" question answered without
  a number of that unit ("第4版" for 第几期): the model paraphrased the sentence that gives
  it and left it out or took the wrong one. That answer sentence is replaced by the passage
  sentence it rests on, when that one prints what was asked.
- A part of the question echoed instead of answered ("…赛马机制，考核体系怎么完善[1]。"):
  the echo is cut, and the passage sentence that best covers that part of the question is
  added with its citation.

Both work on checked sentences (qa/citations.py), so every repaired sentence is a quote of
the passage it cites.
"""

from __future__ import annotations

import re

from index.tokenize import tokenize
from qa.asked import CLAUSE_END, QUESTION_WORD, asked_detail
from qa.citations import CheckedSentence, best_quote, content, split_sentences
from qa.context import weighted_coverage
from qa.metrics import normalize

MIN_ECHO_CHARS = 4


def restore_asked_detail(
    sentences: list[CheckedSentence], bodies: dict[int, str], question: str
) -> list[CheckedSentence]:
    """For an answer that does not print what the question asks for (a date, "第N期"):
    each supported sentence becomes the passage sentence it rests on, where that one does."""
    detail = asked_detail(question)
    if detail is None or any(detail.search(s.text) for s in sentences):
        return sentences
    repaired = []
    for sentence in sentences:
        if sentence.supported and sentence.cited:
            quote = best_quote(sentence.text, bodies[sentence.cited[0]])
            if detail.search(quote):
                sentence = CheckedSentence(quote, sentence.cited[:1], 1.0, True)
        repaired.append(sentence)
    return repaired


def echoed_parts(answer: str, question: str) -> list[str]:
    """Clauses of ``question`` that ask something and appear word for word in ``answer``."""
    flat = normalize(answer)
    return [
        clause
        for clause in (c.strip() for c in CLAUSE_END.split(question))
        if len(clause) >= MIN_ECHO_CHARS
        and QUESTION_WORD.search(clause)
        and normalize(clause) in flat
    ]


def answer_echoes(
    sentences: list[CheckedSentence],
    bodies: dict[int, str],
    question: str,
    weights: dict[str, float],
) -> list[CheckedSentence]:
    """Cut echoed question parts from the answer and add, for each, the passage sentence
    that covers most of that part (IDF ``weights`` of the question's tokens)."""
    echoes = echoed_parts("".join(s.text for s in sentences), question)
    if not echoes:
        return sentences
    repaired = []
    for sentence in sentences:
        text = sentence.text
        for echo in echoes:
            text = re.sub(r"[，,、]?\s*" + re.escape(echo), "", text)
        if content(text):  # more than the punctuation the cut left
            repaired.append(
                CheckedSentence(text, sentence.cited, sentence.support, sentence.supported)
            )
    shown = {normalize(s.text) for s in repaired}
    for echo in echoes:
        part_tokens = set(tokenize(echo))
        part_weights = {t: w for t, w in weights.items() if t in part_tokens}
        candidates = [
            (weighted_coverage(piece, part_weights), number, piece)
            for number, body in bodies.items()
            for piece, _ in split_sentences(body)
            if piece.strip() and normalize(piece) not in shown
        ]
        if not candidates:
            continue
        coverage, number, piece = max(candidates, key=lambda item: (item[0], -item[1]))
        if coverage > 0:
            repaired.append(CheckedSentence(piece.strip(), [number], 1.0, True))
            shown.add(normalize(piece))
    return repaired
