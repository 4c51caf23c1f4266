from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import ArchiveQAError
from qa.evaluate import (
    QuestionResult,
    compare_runs,
    load_test_set,
    retrieval_query,
    summarize,
    supports,
    write_run,
)


def test_support_is_longest_common_substring_of_80_percent() -> None:
    quote = "做好“入境人员”“中高风险地区人员”两个排查"
    assert supports(quote, "社区要做好“入境人员”“中高风险地区人员”两个排查,实现动态掌握。")
    assert supports(quote, "要做好“入境人员”“中高风险地区人员”两个")  # 20 of 22 characters
    assert not supports(quote, "做好“入境人员”排查")
    assert supports("区 产投集团分别汇报", "区产投集团分别汇报相关项目")  # whitespace removed


def _result(
    qid: str, rank: int | None, answerable: bool = True, kind: str = "fact"
) -> QuestionResult:
    return QuestionResult(qid, kind, answerable, "q", rank, 1.0 if rank else 0.0, 10.0, 0.9, 0.5)


def test_metrics_follow_the_definitions() -> None:
    summary = summarize(
        [_result("a", 1), _result("b", 2), _result("c", None), _result("d", None, answerable=False)]
    )
    assert summary["n"] == 3
    assert summary["hit@1"] == round(1 / 3, 4)
    assert summary["hit@3"] == round(2 / 3, 4)
    assert summary["mrr@10"] == round((1 + 0.5) / 3, 4)
    assert summary["by_type"]["fact"]["n"] == 3


def test_follow_up_query_carries_earlier_questions() -> None:
    question = {
        "question": "那它什么时候完工?",
        "history": [
            {"role": "user", "content": "瓜山未来社区二期在建什么?"},
            {"role": "assistant", "content": "加装电梯。"},
        ],
    }
    assert retrieval_query(question) == "瓜山未来社区二期在建什么? 那它什么时候完工?"


def test_bad_test_sets_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"question": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ArchiveQAError, match="第 2 行"):
        load_test_set(path)
    with pytest.raises(ArchiveQAError, match="不存在"):
        load_test_set(tmp_path / "absent.jsonl")


def test_runs_are_written_and_compared(tmp_path: Path) -> None:
    write_run(tmp_path / "a", summarize([_result("a", 1)]), [_result("a", 1)])
    write_run(tmp_path / "b", summarize([_result("a", 2)]), [_result("a", 2)])
    lines = (tmp_path / "a" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["first_supporting_rank"] == 1
    table = compare_runs(tmp_path / "a", tmp_path / "b")
    assert "mrr@10" in table and "-0.5000" in table


def test_answer_metrics_follow_the_definitions() -> None:
    from qa.answer import Answer, Citation
    from qa.citations import CheckedSentence
    from qa.evaluate import answer_metrics, check_answer_against

    passage = {"source_file": "a.txt", "text": "全年,33个项目签约落地。", "article_id": "x"}
    other = {"source_file": "b.txt", "text": "无关的段落。", "article_id": "y"}
    question = {
        "evidence": [{"file": "a.txt", "quote": "33个项目签约落地"}],
        "must_include": ["33个"],
    }
    answer = Answer(
        question="q",
        standalone_question="q",
        text="33个项目签约落地[1][2]。",
        refused=False,
        backend="fake",
        citations=[Citation(1, "p1", "l", "q", passage), Citation(2, "p2", "l", "q", other)],
        sentences=[CheckedSentence("33个项目签约落地。", [1, 2], 1.0, True)],
        timings={"total_s": 2.0},
    )
    check = check_answer_against(question, answer, 0.5)
    assert check.correct and (check.citations_total, check.citations_good) == (2, 1)
    assert check.dangling_markers == 0 and not check.off_evidence
    neighbour = Answer("q", "q", "无关的段落[1]。", False, "fake",
                       citations=[Citation(1, "p2", "l", "q", other)])  # fmt: skip
    assert check_answer_against(question, neighbour, 0.5).off_evidence  # another article's

    refusal = Answer("q", "q", "资料中没有相关信息。", True, "fake", timings={"total_s": 1.0})
    unanswerable = {"evidence": [], "must_include": []}
    wrong_refusal = check_answer_against(question, refusal, 0.5)
    right_refusal = check_answer_against(unanswerable, refusal, 0.5)
    assert not wrong_refusal.correct and right_refusal.correct

    results = [_result("a", 1), _result("b", 1), _result("c", None, answerable=False)]
    for result, checked in zip(results, [check, wrong_refusal, right_refusal], strict=True):
        result.answer = checked
    metrics = answer_metrics(results)
    assert metrics["answer_accuracy"] == round(2 / 3, 4)
    assert metrics["refusal_precision"] == 0.5 and metrics["refusal_recall"] == 1.0
    assert metrics["citation_precision"] == 0.5
    assert metrics["answers_with_dangling_markers"] == 0
    assert metrics["off_evidence_share"] == 0.0  # the one cited answer cites its evidence
