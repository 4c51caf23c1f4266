from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import ArchiveQAError
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
