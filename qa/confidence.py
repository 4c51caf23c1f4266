"""What the model itself says about its answer: the log-probability of each token it wrote
(read while it writes, qa/llm_worker.py `TokenConfidence`), the probability that it was
about to refuse, and its yes/no judgement of its own answer on the cached prompt (P(True),
Kadavath et al. 2022). Backends that give none of these leave them unset, and the verdict
then uses its other features.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

DIGIT = re.compile(r"\d")
HAN = re.compile(r"[\u4e00-\u9fff]")
CITATION_MARKER = re.compile(r"\[\d+(?:\]\[\d+)*\]")
YES_NO = ["是", "否"]  # the self-check's two replies


def yes_share(first_logprobs: dict[str, float]) -> float | None:
    """P(是) / (P(是) + P(否)) from the first-token log-probabilities, or None."""
    if not all(word in first_logprobs for word in YES_NO):
        return None
    yes, no = (math.exp(first_logprobs[word]) for word in YES_NO)
    return yes / (yes + no) if yes + no > 0 else None


@dataclass(frozen=True)
class ModelConfidence:
    """The model's confidence in one answer; None where the backend gave nothing."""

    token_logprobs: tuple[tuple[str, float], ...] = ()
    refusal_logprob: float | None = None  # that the answer starts like the refusal phrase
    self_check_yes: float | None = None  # P(是) to "does the passage state this answer?"

    @classmethod
    def from_stats(cls, stats: dict[str, Any], refusal: str) -> ModelConfidence:
        first = stats.get("first_logprobs") or {}
        return cls(
            token_logprobs=tuple((str(t), float(lp)) for t, lp in stats.get("token_logprobs", ())),
            refusal_logprob=first.get(refusal),
        )

    @classmethod
    def from_logprobs(cls, items: list[dict[str, Any]], refusal: str) -> ModelConfidence:
        """From an OpenAI-compatible endpoint's ``logprobs.content`` items (token,
        logprob, top_logprobs), as llama.cpp's server and vLLM return them: the chance of a
        refusal is that of the first token's alternatives that begin the refusal phrase."""
        if not items:
            return cls()
        starts = [
            math.exp(top["logprob"])
            for top in items[0].get("top_logprobs") or []
            if top.get("token") and refusal.startswith(top["token"].strip() or "\0")
        ]
        return cls(
            token_logprobs=tuple((str(i["token"]), float(i["logprob"])) for i in items),
            refusal_logprob=math.log(sum(starts)) if starts else None,
        )

    def features(self, question: str) -> dict[str, float]:
        """Probabilities in 0..1: the geometric mean and the least likely token of the
        answer (citation markers left out), the least likely token of its numbers and of
        the words the question does not contain (the names and facts it asserts), the
        chance it would have refused, and the self-check's yes; 0.5 where unknown."""
        pieces = _without_markers(self.token_logprobs)
        content = [lp for text, lp in pieces if text.strip()]
        numbers = [lp for text, lp in pieces if DIGIT.search(text)]
        novel = [lp for text, lp in pieces if HAN.search(text) and not _in_question(text, question)]
        known = bool(content)
        return {
            "has_confidence": float(known),
            "token_p_mean": math.exp(sum(content) / len(content)) if known else 0.5,
            "token_p_min": math.exp(min(content)) if known else 0.5,
            "number_p_min": math.exp(min(numbers)) if numbers else (1.0 if known else 0.5),
            "novel_p_min": math.exp(min(novel)) if novel else (1.0 if known else 0.5),
            "refusal_start_p": (
                math.exp(self.refusal_logprob) if self.refusal_logprob is not None else 0.5
            ),
            "self_check_yes": self.self_check_yes if self.self_check_yes is not None else 0.5,
        }


def _without_markers(pieces: tuple[tuple[str, float], ...]) -> list[tuple[str, float]]:
    """The pieces that are not part of a citation marker ("[1]", "[2][3]")."""
    text = "".join(piece for piece, _ in pieces)
    marked = set()
    for match in CITATION_MARKER.finditer(text):
        marked.update(range(match.start(), match.end()))
    kept, position = [], 0
    for piece, logprob in pieces:
        span = range(position, position + len(piece))
        position += len(piece)
        if not any(i in marked for i in span):
            kept.append((piece, logprob))
    return kept


def _in_question(text: str, question: str) -> bool:
    return all(ch in question for ch in HAN.findall(text))
