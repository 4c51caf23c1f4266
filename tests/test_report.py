"""report.html of an eval run and of two runs compared: written, self-contained (opens with
the network cut), every question listed, failures filterable, text escaped."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from index.errors import ArchiveQAError
from qa.answer import Answer, Citation
from qa.citations import CheckedSentence
from qa.evaluate import QuestionResult, check_answer_against, summarize, write_run
from qa.report import (
    REPORT_NAME,
    calibration,
    outcome,
    refusal_curve,
    write_comparison_report,
    write_run_report,
)
from tests.conftest import ROOT

PASSAGE = {
    "source_file": "a.txt",
    "text": "全年,33个项目签约落地。另有<script>alert(1)</script>字样。",
    "article_id": "x",
    "title": "招商成果",
    "paper": "今日拱墅",
    "date": "2021-01-15",
}


def _answer(text: str, refused: bool, score: float, seconds: float) -> Answer:
    cited = (
        [] if refused else [Citation(1, "p1", "今日拱墅 · 2021-01-15", "33个项目签约落地", PASSAGE)]
    )
    sentences = [] if refused else [CheckedSentence(text, [1], 1.0, True)]
    return Answer(
        question="q",
        standalone_question="q",
        text=text if not refused else "资料中没有相关信息。",
        refused=refused,
        backend="fake",
        citations=cited,
        sentences=sentences,
        timings={"total_s": seconds},
        verdict={"candidates": [{"kind": "model", "text": text, "score": score}]},
    )


def _run(folder: Path, outcomes: dict[str, tuple[str, bool, float]]) -> Path:
    """An eval run of four questions: two answerable, two not."""
    results = []
    for number, (qid, (text, refused, score)) in enumerate(outcomes.items()):
        answerable = qid.startswith("a")
        question = {
            "id": qid,
            "type": "fact" if answerable else "unanswerable",
            "question": f"问题 {qid} <b>加粗</b>？",
            "answer": "33个项目" if answerable else "",
            "must_include": ["33个"] if answerable else [],
            "evidence": [{"file": "a.txt", "quote": "33个项目签约落地"}] if answerable else [],
        }
        result = QuestionResult(
            qid,
            question["type"],
            answerable,
            question["question"],
            1 if answerable else None,
            1.0 if answerable else 0.0,
            12.0,
            0.9,
            0.5,
            retrieved=[
                {"file": "a.txt", "title": "招商成果", "text": PASSAGE["text"], "score": 1.0}
            ],
            question=question,
        )
        result.answer = check_answer_against(
            question, _answer(text, refused, score, 1.0 + number), 0.5
        )
        results.append(result)
    write_run(folder, summarize(results), results)
    return folder


FIRST = {
    "a1": ("33个项目签约落地。", False, 0.9),
    "a2": ("20个项目。", False, 0.6),
    "u1": ("", True, 0.2),
    "u2": ("编造的回答。", False, 0.7),
}


def test_run_report_lists_every_question_with_charts_and_no_outside_resources(
    tmp_path: Path,
) -> None:
    report = write_run_report(_run(tmp_path / "run", FIRST))
    assert report == tmp_path / "run" / REPORT_NAME
    html = report.read_text(encoding="utf-8")
    for qid in FIRST:
        assert f"<td>{qid}</td>" in html
    # accuracy, hit@k, latency, refusal curve, and the verdict's calibration when it scored
    assert html.count("<svg") == 5
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "&lt;b&gt;加粗" in html
    assert "<mark>33个项目签约落地</mark>" in html  # the evidence, highlighted


def test_outcomes_and_refusal_curve() -> None:
    records = [
        {"correct": True, "refused": False, "answerable": True},
        {"correct": False, "refused": True, "answerable": True},
        {"correct": True, "refused": True, "answerable": False},
        {"correct": False, "refused": False, "answerable": False},
        {"first_supporting_rank": None, "answerable": True},
    ]
    assert [outcome(r) for r in records] == [
        "right",
        "refused_wrong",
        "refused_right",
        "answered_wrong",
        "retrieval_miss",
    ]
    scored = [
        {"answerable": True, "correct": True, "verdict": {"candidates": [{"score": 0.9}]}},
        {"answerable": False, "correct": True, "verdict": {"candidates": [{"score": 0.2}]}},
        {"answerable": False, "correct": False, "verdict": {"candidates": [{"score": 0.7}]}},
    ]
    curve = dict((t, (p, r)) for t, p, r in refusal_curve(scored))
    assert curve[0.7] == (1.0, 0.5)  # below 0.7: refuses only the 0.2 one
    assert curve[0.9] == (1.0, 1.0)
    assert curve[1.01] == (2 / 3, 1.0)


def test_comparison_report_shows_the_questions_whose_outcome_changed(tmp_path: Path) -> None:
    first = _run(tmp_path / "before", FIRST)
    second = _run(tmp_path / "after", {**FIRST, "a2": ("33个项目签约落地。", False, 0.9)})
    report = write_comparison_report(first, second, tmp_path / "compare")
    html = report.read_text(encoding="utf-8")
    changed = html[html.index("结果变化的问题") :]
    assert "<td>a2</td>" in changed and "<td>a1</td>" not in changed
    assert "差（B−A）" in html and "+0.25" in html  # accuracy 0.5 → 0.75
    assert html.count("<svg") == 5  # with the calibration of both runs


def test_a_folder_without_a_run_is_named(tmp_path: Path) -> None:
    with pytest.raises(ArchiveQAError, match=r"summary\.json"):
        write_run_report(tmp_path)


@pytest.mark.browser
def test_report_opens_offline_and_filters_to_failures(tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("没有安装 Debian chromium（make browser-deps）")
    playwright = pytest.importorskip("playwright.sync_api", reason="没有安装 playwright")
    report = write_run_report(_run(tmp_path / "run", FIRST))
    outside: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "request", lambda r: outside.append(r.url) if not r.url.startswith("file:") else None
        )
        page.goto(report.as_uri())
        assert page.inner_text("#shown") == "显示 4 题"
        page.check("#failed-only")
        assert page.inner_text("#shown") == "显示 2 题"  # a2 wrong, u2 answered
        assert page.locator("tr.q:visible").count() == 2
        page.select_option("#type-filter", "unanswerable")
        assert page.inner_text("#shown") == "显示 1 题"
        (ROOT / "test-output").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "test-output" / "report.png"))
        browser.close()
    assert outside == []


def test_calibration_bins_and_expected_error() -> None:
    def question(*candidates: tuple[float, bool]) -> dict:
        scored = [{"score": p, "correct": y} for p, y in candidates]
        return {"correct": True, "verdict": {"candidates": scored}}

    questions = [question((0.95, True), (0.15, False)), question((0.9, False), (0.1, False))]
    bins, error = calibration([*questions, {"verdict": {}}])  # an unanswered row is left out
    assert [(round(m, 3), s, n) for m, s, n in bins] == [(0.125, 0.0, 2), (0.925, 0.5, 2)]
    assert error == pytest.approx((2 * 0.125 + 2 * 0.425) / 4)
