"""One calibrated decision over an answer: which candidate to show, or a refusal.

The candidates of one question are the model's answer (citations checked), that answer
with the two repairs of qa/repair.py, and two extractive answers (the passage sentences
that cover the question best, and the best one that prints what is asked: a number, a
date). Each is described by features (`features`): how well its cited passages support
its sentences, how much of the question and of each of its parts the passage sentences it
rests on cover, whether it prints what is asked (a number the passages print, a date
standing next to the question's words, the post asked about), whether the model itself
refused, and the retrieval scores. A logistic regression fitted on the tune parts of the
dev sets (`python -m qa.verdict_fit fit`) turns them into the probability that the candidate
is a correct answer; the best candidate is shown when that probability reaches the
threshold chosen on tune, else the question is refused. The lexical checks that used to
veto answers are features here, weighed by the data.

The fitted model lives in ``qa/verdict_model.json`` with its feature list, the data it
was fitted on and the tune figures; a model whose feature list differs from this code's
is refused with a clear error.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from index.errors import ArchiveQAError
from qa.asked import (
    NUMBER,
    QUESTION_WORD,
    adds_only_dates,
    asked_detail,
    asked_focus,
    asked_title,
    asks_date,
    asks_list,
    asks_quantity,
    counted_pattern,
    given_dates,
    names_title,
    prints_count,
    relabelled_numbers,
)
from qa.citations import CheckedSentence, best_quote, content, split_sentences
from qa.confidence import ModelConfidence
from qa.context import weighted_coverage
from qa.dates import annotate_relative_years
from qa.metrics import normalize
from qa.prompts import refusal_phrase

MODEL_FILE = Path(__file__).with_name("verdict_model.json")
# What small models write when the passages do not say (besides the exact refusal).
REFUSAL_SIGNS = ("没有相关信息", "没有提到", "没有提及", "未提及", "未提到", "无法回答", "没有找到")
FEATURES = (
    "bias",
    "is_model",
    "is_repaired",
    "is_detail_extract",
    "is_focus_extract",
    "is_list_extract",
    "model_refused",
    "support_mean",
    "support_min",
    "supported_share",
    "claims",
    "answer_chars",
    "novel_share",
    "question_coverage",
    "parts_coverage",
    "several_parts",
    "asks_list",
    "asks_quantity",
    "quantity_printed",
    "asks_date",
    "date_anchored",
    "only_dates_added",
    "title_missing",
    "has_focus",
    "focus_in_quote",
    "rules_pass",
    "top_coverage",
    "top_dense",
    "count_in_unit",
    "number_relabelled",
    "article_match",
    "has_confidence",
    "token_p_mean",
    "token_p_min",
    "number_p_min",
    "novel_p_min",
    "refusal_start_p",
    "self_check_yes",
)


@dataclass
class Candidate:
    """One possible answer: its checked sentences and where it came from."""

    kind: str  # model | repaired | extract | detail_extract
    sentences: list[CheckedSentence]
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    carries: bool | None = None  # prints the asked thing (carries_asked)

    @property
    def claims(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if content(s.text)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": "".join(s.text for s in self.sentences),
            "features": {k: round(v, 4) for k, v in self.features.items()},
            "score": round(self.score, 4),
            "carries_asked": self.carries,
        }


@dataclass(frozen=True)
class Evidence:
    """What a candidate is judged against: the question, its parts' token weights, the
    numbered passages and the retrieval scores."""

    question: str
    weights: dict[str, float]
    part_weights: list[dict[str, float]]
    bodies: dict[int, str]  # citation number → passage text
    heads: dict[int, str]  # citation number → paper, date and headline of the passage
    dated_sentences: list[str]  # headline and sentences, relative years resolved
    top_coverage: float
    top_dense: float
    model_refused: bool
    date_anchor_coverage: float  # Settings.date_anchor_coverage, see anchored_dates
    confidence: ModelConfidence = field(default_factory=ModelConfidence)  # the model's own
    articles: dict[int, str] = field(default_factory=dict)  # citation number → article id


def article_match(claims: list[CheckedSentence], evidence: Evidence) -> float:
    """How well the articles the claims cite match the question, against the best article
    the model read: the IDF-weighted question coverage of the cited articles' shown text
    over that of the best-covering article (1.0: the answer rests on the article the
    question is about; lower: on a neighbour, whose numbers and names are another event's).
    1.0 when nothing is cited or the articles are unknown."""
    cited = {n for s in claims for n in s.cited}
    if not cited or not evidence.articles:
        return 1.0
    texts: dict[str, str] = {}
    for number, article in evidence.articles.items():
        texts[article] = texts.get(article, "") + evidence.heads[number] + evidence.bodies[number]
    coverage = {a: weighted_coverage(text, evidence.weights) for a, text in texts.items()}
    best = max(coverage.values())
    if best <= 0:
        return 1.0
    return (
        max((coverage[evidence.articles[n]] for n in cited if n in evidence.articles), default=best)
        / best
    )


def anchored_dates(claims: list[str], evidence: Evidence) -> bool:
    """A date given to a "when" question must be printed in a passage sentence about what
    was asked, not merely somewhere ("编者按：2020年是不平凡的一年" does not say when 董家新村
    was built)."""
    given = [part for claim in claims for part in given_dates(claim, evidence.question)]
    if not given:
        return False
    topic = {t: w for t, w in evidence.weights.items() if not QUESTION_WORD.search(t)}
    return any(
        part in sentence and weighted_coverage(sentence, topic) >= evidence.date_anchor_coverage
        for part in given
        for sentence in evidence.dated_sentences
    )


def features(candidate: Candidate, evidence: Evidence) -> dict[str, float]:
    """The candidate's features, each in about 0..1."""
    question = evidence.question
    claims = [s for s in candidate.claims if not is_refusal(s.text)]
    texts = [s.text for s in claims]
    quotes = " ".join(
        evidence.heads[s.cited[0]] + best_quote(s.text, evidence.bodies[s.cited[0]])
        for s in claims
        if s.cited
    )
    passages = "\n".join(evidence.bodies.values())
    supports = [s.support for s in claims]
    said = content("".join(texts))
    asked = set(content(question))
    printed_numbers = set(NUMBER.findall(passages)) - set(NUMBER.findall(question))
    title = asked_title(question)
    focus = asked_focus(question)
    return {
        "bias": 1.0,
        "is_model": float(candidate.kind in ("model", "repaired")),
        "is_repaired": float(candidate.kind == "repaired"),
        "is_detail_extract": float(candidate.kind == "detail_extract"),
        "is_focus_extract": float(candidate.kind == "focus_extract"),
        "is_list_extract": float(candidate.kind == "list_extract"),
        "model_refused": float(evidence.model_refused),
        "support_mean": sum(supports) / len(supports) if supports else 0.0,
        "support_min": min(supports, default=0.0),
        "supported_share": (sum(s.supported for s in claims) / len(claims)) if claims else 0.0,
        "claims": min(len(claims), 4) / 4,
        "answer_chars": math.log1p(len(said)) / 6,
        "novel_share": (sum(ch not in asked for ch in said) / len(said)) if said else 0.0,
        "question_coverage": weighted_coverage(quotes, evidence.weights),
        "parts_coverage": min(
            (weighted_coverage(quotes, weights) for weights in evidence.part_weights),
            default=0.0,
        ),
        "several_parts": float(len(evidence.part_weights) > 1),
        "asks_list": float(asks_list(question)),
        "asks_quantity": float(asks_quantity(question)),
        "quantity_printed": float(
            any(set(NUMBER.findall(text)) & printed_numbers for text in texts)
        ),
        "asks_date": float(asks_date(question)),
        "date_anchored": float(asks_date(question) and anchored_dates(texts, evidence)),
        "only_dates_added": float(
            not asks_date(question) and bool(texts) and adds_only_dates(texts, question)
        ),
        "title_missing": float(bool(title) and not names_title(title, passages)),
        "rules_pass": float(_rules_pass(candidate, claims, texts, evidence, passages)),
        "has_focus": float(focus is not None),
        "focus_in_quote": float(focus is not None and names_title(focus, quotes)),
        "top_coverage": evidence.top_coverage,
        "top_dense": evidence.top_dense,
        "count_in_unit": float(prints_count(texts, question)),
        "number_relabelled": float(relabelled_numbers(texts, passages, question)),
        "article_match": article_match(claims, evidence),
        **evidence.confidence.features(question),
    }


def _rules_pass(
    candidate: Candidate,
    claims: list[CheckedSentence],
    texts: list[str],
    evidence: Evidence,
    passages: str,
) -> bool:
    """The lexical checks that used to veto an answer, together: some sentence supported,
    the post asked about named, a number the passages print for "多少", a "when" answered
    with a date that stands next to the question's words, and no date-only answer to
    another question."""
    question = evidence.question
    if not any(s.supported for s in claims):
        return False
    title = asked_title(question)
    if title and not names_title(title, passages):
        return False
    if asks_quantity(question):
        printed = set(NUMBER.findall(passages)) - set(NUMBER.findall(question))
        if not any(set(NUMBER.findall(s.text)) & printed for s in claims if s.supported):
            return False
    if asks_date(question):
        given = [part for text in texts for part in given_dates(text, question)]
        return not given or anchored_dates(texts, evidence)
    return (
        asks_quantity(question)
        or not QUESTION_WORD.search(question)
        or not adds_only_dates(texts, question)
    )


def is_refusal(text: str) -> bool:
    """Does ``text`` say the passages do not tell (the exact refusal, or what small models
    write instead)?"""
    flat = normalize(text)
    return refusal_phrase() in flat or any(sign in flat for sign in REFUSAL_SIGNS)


def dated_sentences(titled_texts: list[tuple[str, str, str | None]]) -> list[str]:
    """Headline and sentences of each (title, text, issue date), relative years resolved
    against the issue date ("今年" in a 2020 issue)."""
    return [
        piece
        for title, text, date in titled_texts
        for piece, _ in split_sentences(annotate_relative_years(f"{title}。{text}", date))
    ]


# Candidates written by the model and candidates quoted from the passages fail in different
# ways (an invented number; a true sentence about something else): each group has its own
# coefficients.
GROUPS = ("model", "extract")


def group_of(kind: str) -> str:
    return "model" if kind in ("model", "repaired") else "extract"


@dataclass(frozen=True)
class VerdictModel:
    """Logistic regression over `FEATURES`, one per candidate group, and the threshold of
    an answer."""

    coefficients: dict[str, dict[str, float]]  # group → feature → weight
    threshold: float
    info: dict[str, Any]

    def probability(self, kind: str, values: dict[str, float]) -> float:
        weights = self.coefficients[group_of(kind)]
        z = sum(weights[name] * values.get(name, 0.0) for name in FEATURES)
        return 1 / (1 + math.exp(-max(min(z, 30.0), -30.0)))


@cache
def load_verdict_model(path: Path = MODEL_FILE) -> VerdictModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArchiveQAError(f"无法读取回答判定模型（{exc}）", source=str(path)) from exc
    if tuple(data.get("features", ())) != FEATURES or set(data.get("coefficients", {})) != set(
        GROUPS
    ):
        raise ArchiveQAError(
            "回答判定模型的特征与代码不一致，请重新拟合：python -m qa.verdict_fit fit",
            source=str(path),
        )
    coefficients = {
        group: dict(zip(FEATURES, data["coefficients"][group], strict=True)) for group in GROUPS
    }
    return VerdictModel(coefficients, float(data["threshold"]), data.get("info", {}))


def carries_asked(candidate: Candidate, evidence: Evidence) -> bool | None:
    """Does the candidate print the very thing asked: a number in the asked unit that is
    not another thing's number, a date standing next to the asked event, the ordinal
    ("第N期") asked for? None when the question asks for nothing a pattern can see (a
    fact, a list, a name): then no extract can show that it answers better than the model."""
    question = evidence.question
    texts = [s.text for s in candidate.claims if not is_refusal(s.text)]
    if not texts:
        return False
    if (ordinal := asked_detail(question)) is not None and not asks_date(question):
        return any(ordinal.search(text) for text in texts)
    if asks_date(question):
        return anchored_dates(texts, evidence)
    if counted_pattern(question) is not None:
        passages = "\n".join(evidence.bodies.values())
        return prints_count(texts, question) and not relabelled_numbers(texts, passages, question)
    return None


def judge(candidates: list[Candidate], evidence: Evidence, model: VerdictModel) -> Candidate | None:
    """Score every candidate and let `choose` decide; None is a refusal."""
    for candidate in candidates:
        candidate.features = features(candidate, evidence)
        candidate.score = model.probability(candidate.kind, candidate.features)
        candidate.carries = carries_asked(candidate, evidence)
    index = choose(
        [(c.kind, c.score) for c in candidates],
        evidence.model_refused,
        model.threshold,
        [c.carries for c in candidates],
    )
    return None if index is None else candidates[index]


def choose(
    scored: list[tuple[str, float]],
    model_refused: bool,
    threshold: float,
    carries: list[bool | None] | None = None,
) -> int | None:
    """Which of the (kind, probability) candidates to show, or None: the model's written
    answer (or its repair, whichever scores higher) when it reaches ``threshold``, else a
    refusal; an extract answers only when the model refused or wrote nothing, only when it
    reaches the threshold, and never when it does not print the asked thing (``carries``
    False, `carries_asked`: an article's opening line or another figure for a how-many or
    when question; round 6 on all 418 tune questions: 2 more right, refusal recall 0.68 →
    0.71).

    An extract never replaces a written answer, and does not stand in for one the verdict
    doubts: the sentence with most question words is often an article's opening line or
    another event's figure. On the fixed samples (round 5, docs/answer-quality.md) this
    plain rule got 45/64 tune and 46/62 holdout questions right against 42 and 43 for the
    round-4 rule that let a carrying extract replace the model's answer and let the best
    extract answer when the model's answer fell short."""
    carried = carries or [None] * len(scored)
    written = [n for n, (kind, _) in enumerate(scored) if group_of(kind) == "model"]
    quoted = [
        n
        for n, (kind, _) in enumerate(scored)
        if group_of(kind) == "extract" and carried[n] is not False
    ]
    if model_refused or not written:
        best = max(quoted, key=lambda n: scored[n][1], default=None)
        return best if best is not None and scored[best][1] >= threshold else None
    best = max(written, key=lambda n: scored[n][1])
    return best if scored[best][1] >= threshold else None


def missing_parts(candidate: Candidate, evidence: Evidence, part_texts: list[str]) -> list[str]:
    """The parts of a several-part question the chosen answer's passage sentences do not
    bear on (the answer then says which part the archive does not answer)."""
    if len(part_texts) < 2:
        return []
    quotes = " ".join(
        evidence.heads[s.cited[0]] + best_quote(s.text, evidence.bodies[s.cited[0]])
        for s in candidate.claims
        if s.cited
    )
    shared = set.intersection(*(set(w) for w in evidence.part_weights))
    missing = []
    for text, weights in zip(part_texts, evidence.part_weights, strict=True):
        own = {t: w for t, w in weights.items() if t not in shared and not QUESTION_WORD.search(t)}
        if own and weighted_coverage(quotes, own) == 0.0:
            missing.append(text)
    return missing


def detail_pattern(question: str) -> re.Pattern[str] | None:
    """What the detail-extract candidate must print, when the question asks for it: a
    date, "第N期", or a number in the asked unit (not a date's digits)."""
    return asked_detail(question) or counted_pattern(question)
