"""Fitting the verdict (qa/verdict_fit.py): folds grouped by source document, the decision
replayed from recorded candidates exactly as `qa.verdict.choose` makes it, and the
comparison with gradient-boosted trees."""

from __future__ import annotations

import random

from qa.verdict import FEATURES, VerdictModel
from qa.verdict_fit import (
    BoostedVerdict,
    Question,
    compare_rules,
    cross_validated_accuracy,
    decide,
    fit_groups,
    grouped_folds,
    source_group,
)


def _candidate(kind: str, support: float, correct: bool, **extra) -> dict:
    values = dict.fromkeys(FEATURES, 0.0) | {"bias": 1.0, "support_mean": support}
    return {"kind": kind, "features": values | extra, "correct": correct, "carries_asked": None}


def _support_model() -> VerdictModel:
    """A verdict that trusts a candidate by its support alone."""
    weights = dict.fromkeys(FEATURES, 0.0) | {"bias": -2.0, "support_mean": 4.0}
    return VerdictModel({"model": weights, "extract": weights}, 0.5, {})


def _questions(count: int, documents: int) -> list[Question]:
    """Model answers right 60 % of the time (and well supported then); otherwise it
    refused, and an extract that prints the asked thing is right."""
    rng = random.Random(7)
    questions = []
    for n in range(count):
        right = rng.random() < 0.6
        refused = {"model_refused": 0.0 if right else 1.0}
        candidates = [
            _candidate("model", 0.9 if right else 0.2, right, **refused),
            _candidate("focus_extract", 0.2 if right else 0.9, not right, **refused),
        ]
        questions.append(
            Question("s.jsonl", f"q{n}", "number", True, candidates, f"doc{n % documents}")
        )
    return questions


def test_a_documents_questions_stay_in_one_fold() -> None:
    questions = _questions(60, documents=13)
    folds = grouped_folds(questions)
    assert len(folds) == 5 and sum(len(f) for f in folds) == 60
    homes = {}
    for index, fold in enumerate(folds):
        for question in fold:
            assert homes.setdefault(question.group, index) == index
    assert max(len(f) for f in folds) - min(len(f) for f in folds) <= 5


def test_the_group_of_a_question_is_its_evidence_document_or_the_nearest_article() -> None:
    assert source_group({"id": "a", "evidence": [{"file": "000.txt", "quote": "x"}]}) == "000.txt"
    assert source_group({"id": "b", "evidence": [], "retrieved": [{"file": "es_1"}]}) == "es_1"
    assert source_group({"id": "c", "evidence": [], "retrieved": []}) == "c"


def test_decide_replays_the_choice() -> None:
    model = _support_model()
    question = Question(
        "s.jsonl", "q", "number", True,
        [_candidate("model", 0.9, False), _candidate("focus_extract", 0.9, True)],
        "doc",
    )  # fmt: skip
    assert decide(question, model, 0.5) == (True, False)  # the model's answer stays
    assert decide(question, model, 0.99) == (False, False)  # refused, but answerable
    for candidate in question.candidates:
        candidate["features"]["model_refused"] = 1.0
    assert decide(question, model, 0.5) == (True, True)  # the model refused: the extract


def test_gradient_boosting_is_cross_validated_on_the_same_folds() -> None:
    questions = _questions(50, documents=20)
    threshold, accuracy = cross_validated_accuracy(questions, BoostedVerdict)
    assert 0.05 <= threshold <= 0.95
    assert accuracy >= 0.9  # the trees learn which candidate is right


def test_rules_are_compared_with_the_models_own_answer() -> None:
    model = _support_model()
    right_but_weak = Question(
        "s.jsonl", "a", "fact", True,
        [_candidate("model", 0.1, True), _candidate("extract", 0.9, False)],
        "doc1",
    )  # fmt: skip
    near_miss = Question(
        "s.jsonl", "b", "near_miss", False, [_candidate("model", 0.1, False)], "doc2"
    )
    rows = {
        row["rule"]: row
        for row in compare_rules([right_but_weak, near_miss], model)
        if row["set"] == "all"
    }
    # choose() refuses the weak right answer (below the threshold): worse than the model's
    # own answer once, right on the near miss; shipping the model's answer is the reverse
    assert rows["choose"] | {"correct": 1, "worse_than_model": 1} == rows["choose"]
    assert rows["choose"]["refusal_precision"] == 0.5 and rows["choose"]["refusal_recall"] == 1.0
    assert rows["model_only"] | {"correct": 1, "worse_than_model": 0} == rows["model_only"]


def test_features_left_out_of_a_fit_weigh_nothing() -> None:
    questions = _questions(40, documents=10)
    full = fit_groups(questions, 1.0)
    without = fit_groups(questions, 1.0, frozenset({"support_mean"}))
    assert full.coefficients["model"]["support_mean"] > 0  # what decides here
    assert without.coefficients["model"]["support_mean"] == 0.0
    assert without.coefficients["extract"]["support_mean"] == 0.0
    assert list(without.coefficients["model"]) == list(FEATURES)


def test_an_extract_that_does_not_print_the_asked_thing_never_answers_under_choose_carrying() -> (
    None
):
    model = _support_model()
    refused = {"model_refused": 1.0}
    opening_line = _candidate("extract", 0.9, False, **refused) | {"carries_asked": False}
    question = Question(
        "s.jsonl", "c", "near_miss", False,
        [_candidate("model", 0.1, False, **refused), opening_line], "doc3",
    )  # fmt: skip
    rows = {row["rule"]: row for row in compare_rules([question], model) if row["set"] == "all"}
    assert rows["choose_any_extract"]["correct"] == 0  # the round-5 rule: the extract answered
    assert rows["choose"]["correct"] == 1  # refused
