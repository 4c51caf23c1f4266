"""The project's own dev sets are well formed, and every question set the project learns from
has a fixed tune / holdout split (eval/splits.json) that new questions cannot move."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import ArchiveQAError
from qa.evaluate import load_test_set
from qa.metrics import normalize
from qa.splits import PARTS, assign, read_splits, select, stratified_sample
from tests.conftest import ROOT, SEEDS, SHARED

OWN_SETS = [
    ROOT / "eval" / "seed_dev.jsonl",
    ROOT / "eval" / "seed_near_misses.jsonl",
    ROOT / "eval" / "crud_dev.jsonl",
]
CRUD_DOCS = SHARED / "bench" / "crud" / "docs.jsonl"
SHARED_SETS = [SHARED / "eval" / "public.jsonl", SHARED / "bench" / "crud" / "qa_1doc.jsonl"]


def _source_texts(path: Path) -> dict[str, str]:
    """Raw texts the evidence of a dev set quotes: seed files, or CRUD documents."""
    if path.name.startswith("crud"):
        if not CRUD_DOCS.exists():
            pytest.skip(f"{CRUD_DOCS} 不存在（../shared 缺失）")
        rows = [json.loads(line) for line in CRUD_DOCS.read_text(encoding="utf-8").splitlines()]
        return {row["id"]: row["text"] for row in rows}
    return {p.name: p.read_text(encoding="utf-8") for p in SEEDS.iterdir()}


@pytest.mark.parametrize("path", OWN_SETS, ids=lambda p: p.name)
def test_own_dev_sets_are_well_formed(path: Path) -> None:
    rows = load_test_set(path)
    sources = _source_texts(path)
    assert len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        assert (row["type"] == "unanswerable") == (not row["evidence"]), row["id"]
        texts = []
        for evidence in row["evidence"]:
            raw = sources[evidence["file"]]
            assert evidence["quote"] in raw, (row["id"], evidence["quote"])  # DESIGN §6
            texts.append(normalize(raw))
        for item in row["must_include"]:
            assert any(normalize(item) in text for text in texts), (row["id"], item)
        if row["history"]:
            assert [turn["role"] for turn in row["history"]][-2:] == ["user", "assistant"]


def test_the_seed_dev_set_covers_what_users_ask() -> None:
    rows = load_test_set(OWN_SETS[0])
    kinds = {row["type"] for row in rows}
    assert len(rows) >= 120
    assert {"list", "two_part", "paraphrase", "follow_up", "cross_issue", "unanswerable"} <= kinds
    assert sum(row["type"] == "unanswerable" for row in rows) >= 15


def test_the_crud_dev_set_has_150_questions_and_own_ones_of_every_kind() -> None:
    rows = load_test_set(OWN_SETS[2])
    own = [row for row in rows if row["id"].startswith("crud_own_")]
    assert len(rows) >= 150
    assert {"list", "two_part", "paraphrase", "follow_up", "unanswerable"} <= {
        row["type"] for row in own
    }


@pytest.mark.parametrize("path", OWN_SETS + SHARED_SETS, ids=lambda p: p.name)
def test_every_question_is_in_exactly_one_part(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} 不存在（../shared 缺失）")
    questions = load_test_set(path)
    parts = read_splits()[path.name]
    tune, holdout = set(parts["tune"]), set(parts["holdout"])
    assert not tune & holdout
    assert {q["id"] for q in questions} == tune | holdout
    assert abs(len(tune) - len(holdout)) <= len({q["type"] for q in questions})


def test_new_questions_never_move_old_ones_and_are_balanced_per_type() -> None:
    old = [{"id": f"a{n}", "type": "fact"} for n in range(6)]
    first = assign("demo", old)
    grown = old + [{"id": f"b{n}", "type": "list"} for n in range(4)]
    second = assign("demo", grown, first)
    for part in PARTS:
        assert second[part][: len(first[part])] == first[part]
    new_ids = [qid for part in PARTS for qid in second[part] if qid.startswith("b")]
    assert sorted(new_ids) == [f"b{n}" for n in range(4)]
    assert sum(q.startswith("b") for q in second["tune"]) == 2
    assert assign("demo", grown, first) == second  # the same inputs, the same parts


def test_selecting_a_part(tmp_path: Path) -> None:
    questions = [{"id": f"q{n}", "type": "fact"} for n in range(4)]
    splits_file = tmp_path / "splits.json"
    parts = assign("demo.jsonl", questions)
    splits_file.write_text(json.dumps({"sets": {"demo.jsonl": parts}}), encoding="utf-8")
    tune = select(questions, "demo.jsonl", "tune", splits_file)
    assert [q["id"] for q in tune] == [q["id"] for q in questions if q["id"] in parts["tune"]]
    with pytest.raises(ArchiveQAError, match="未划分"):
        select([*questions, {"id": "new", "type": "fact"}], "demo.jsonl", "tune", splits_file)
    with pytest.raises(ArchiveQAError, match="还没有划分"):
        select(questions, "other.jsonl", "holdout", splits_file)


def test_a_stratified_sample_keeps_every_type_and_is_the_same_everywhere() -> None:
    questions = [{"id": f"n{i}", "type": "number"} for i in range(40)] + [
        {"id": f"u{i}", "type": "unanswerable"} for i in range(10)
    ]
    sample = stratified_sample(questions, "x.jsonl", 10)
    assert [q["type"] for q in sample].count("number") == 8
    assert [q["type"] for q in sample].count("unanswerable") == 2
    again = stratified_sample(list(reversed(questions)), "x.jsonl", 10)
    assert {q["id"] for q in again} == {q["id"] for q in sample}  # by hash, not by position
    assert [q["id"] for q in sample] == [q["id"] for q in questions if q in sample]
    assert stratified_sample(questions, "x.jsonl", 99) == questions
