"""Citation markers in a generated answer, checked against the passages they point to.

The model cites with ``[n]``. After generation every marker is checked: a number that maps
to no passage is removed, and every sentence is compared with its cited passages by
character-bigram overlap after normalisation (DESIGN.md section 4). A sentence the cited
passage does not support, but another numbered passage does, is re-pointed there; a sentence
without a marker that one passage clearly supports gets that passage's marker.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from qa.metrics import normalize

# [1], [1][2], [1,2], [1、2], 【1】, [资料1] — every form small models were seen to write.
_MARKER_GROUP = re.compile(
    r"[\[【]\s*(?:资料|来源|文献)?\s*(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\s*[\]】]"
)
_SENTENCE_END = "。！？!?；;\n"


def content(text: str) -> str:
    """Normalised text with punctuation and symbols dropped: what overlap is measured on."""
    return "".join(
        ch for ch in normalize(text) if not unicodedata.category(ch).startswith(("P", "S"))
    )


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text}


def support(sentence: str, passage_text: str, question: str = "") -> float:
    """Share of the sentence's character bigrams that occur in the passage (0..1).

    Bigrams the sentence repeats from the question are not claims and are left out; a
    sentence that only restates the question has nothing to support (0).
    """
    said = content(sentence)
    if not said:
        return 0.0
    claims = _bigrams(said) - (_bigrams(content(question)) if question else set())
    if not claims:
        return 0.0
    return len(claims & _bigrams(content(passage_text))) / len(claims)


def best_quote(sentence: str, passage_text: str) -> str:
    """The sentence of the passage that shares most with ``sentence``: the supporting quote."""
    pieces = [piece for piece, _ in split_sentences(passage_text) if piece.strip()]
    if not pieces:
        return passage_text.strip()
    return max(pieces, key=lambda piece: support(piece, sentence) * len(content(piece)) ** 0.5)


def marker_numbers(text: str) -> list[int]:
    """Every citation number written in ``text``, in order."""
    return [
        int(n) for group in _MARKER_GROUP.findall(text) for n in re.split(r"\s*[,，、]\s*", group)
    ]


def strip_markers(text: str) -> str:
    """``text`` without its citation markers."""
    return _MARKER_GROUP.sub("", text)


def split_sentences(text: str) -> list[tuple[str, list[int]]]:
    """Sentences of ``text`` with the marker numbers attached to each (markers removed).

    Markers written just after a sentence's full stop ("…。[1]") belong to that sentence.
    """
    result: list[tuple[str, list[int]]] = []
    current, numbers = "", []
    position = 0
    while position < len(text):
        match = _MARKER_GROUP.match(text, position)
        if match:
            numbers.extend(int(n) for n in re.split(r"\s*[,，、]\s*", match.group(1)))
            position = match.end()
            continue
        char = text[position]
        if current and current[-1] in _SENTENCE_END and char not in _SENTENCE_END:
            # The sentence ended; markers directly after it were collected above.
            result.append((current, numbers))
            current, numbers = "", []
        current += char
        position += 1
    if current or numbers:
        result.append((current, numbers))
    return [(sentence, nums) for sentence, nums in result if sentence.strip() or nums]


@dataclass
class CheckedSentence:
    """One answer sentence: its text (no markers), the passages it cites, and whether they
    support it."""

    text: str
    cited: list[int] = field(default_factory=list)
    support: float = 0.0
    supported: bool = False


@dataclass
class CheckedAnswer:
    text: str  # the answer with only valid markers, as shown to the user
    sentences: list[CheckedSentence]
    removed_markers: list[int]  # numbers that mapped to no passage

    @property
    def cited_numbers(self) -> list[int]:
        return sorted({n for s in self.sentences for n in s.cited})


def check_answer(
    text: str, passages: dict[int, str], threshold: float, question: str = ""
) -> CheckedAnswer:
    """Validate the markers of ``text`` against ``passages`` (number → passage text, with
    its provenance line, since answers may name the paper's date)."""
    sentences: list[CheckedSentence] = []
    removed: list[int] = []
    for raw, numbers in split_sentences(text):
        valid = list(dict.fromkeys(n for n in numbers if n in passages))
        removed.extend(n for n in numbers if n not in passages)
        sentence = CheckedSentence(text=raw)
        if content(raw):
            scores = {n: support(raw, body, question) for n, body in passages.items()}
            supporting = [n for n in valid if scores[n] >= threshold]
            best = max(scores, key=lambda n: scores[n]) if scores else None
            if supporting:
                sentence.cited = supporting
            elif best is not None and scores[best] >= threshold:
                sentence.cited = [best]  # re-pointed, or added where the model gave none
            else:
                sentence.cited = valid
            sentence.support = max((scores[n] for n in sentence.cited), default=0.0)
            sentence.supported = sentence.support >= threshold
        sentences.append(sentence)
    return CheckedAnswer(text=render(sentences), sentences=sentences, removed_markers=removed)


def split_end(text: str) -> tuple[str, str, str]:
    """``text`` as (body, closing punctuation, trailing whitespace): markers go between the
    first two."""
    stripped = text.rstrip()
    body = stripped.rstrip(_SENTENCE_END)
    return body, stripped[len(body) :], text[len(stripped) :]


def render(sentences: list[CheckedSentence]) -> str:
    """The answer text with each sentence's markers placed before its end punctuation."""
    parts = []
    for sentence in sentences:
        body, end, space = split_end(sentence.text)
        parts.append(body + "".join(f"[{n}]" for n in sentence.cited) + end + space)
    return "".join(parts).strip()
