"""The answer verdict (qa/verdict.py): each feature on cases of the failure kinds it is
there for, the choice between candidates, and the fitted model's file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import ArchiveQAError
from index.tokenize import tokenize
from qa.citations import check_answer
from qa.verdict import (
    FEATURES,
    GROUPS,
    Candidate,
    Evidence,
    VerdictModel,
    choose,
    dated_sentences,
    detail_pattern,
    features,
    judge,
    load_verdict_model,
    missing_parts,
)


def weights_of(text: str) -> dict[str, float]:
    return dict.fromkeys(set(tokenize(text)), 1.0)


def evidence(
    question: str, passages: list[str], parts: list[str] | None = None, **extra
) -> Evidence:
    bodies = dict(enumerate(passages, start=1))
    return Evidence(
        question=question,
        weights=weights_of(question),
        part_weights=[weights_of(p) for p in parts or [question]],
        bodies=bodies,
        heads={n: f"今日拱墅 2024-06-14 《报道{n}》\n" for n in bodies},
        dated_sentences=dated_sentences([("报道", body, "2024-06-14") for body in passages]),
        top_coverage=extra.get("top_coverage", 0.5),
        top_dense=extra.get("top_dense", 0.9),
        model_refused=extra.get("model_refused", False),
        date_anchor_coverage=0.15,
    )


def candidate(text: str, found: Evidence, kind: str = "model") -> Candidate:
    sources = {n: body for n, body in found.bodies.items()}
    return Candidate(kind, check_answer(text, sources, 0.5, found.question).sentences)


HOTEL = [
    "瓜山未来社区共有公寓2734套，已入住4500余人。",
    "民宿组团一期工程往来酒店已建成开放，客房配有刷脸入住系统。",
]


def test_the_sentence_an_answer_rests_on_must_cover_the_question() -> None:
    found = evidence("往来酒店一共有多少间客房？", HOTEL)
    near_miss = features(candidate("往来酒店共有2734间客房[1]。", found), found)
    right_article = features(candidate("往来酒店客房配有刷脸入住系统[2]。", found), found)
    assert near_miss["question_coverage"] < right_article["question_coverage"]


def test_a_quantity_must_be_one_the_passages_print() -> None:
    found = evidence("瓜山未来社区有多少套公寓？", HOTEL)
    assert features(candidate("共有公寓2734套[1]。", found), found)["quantity_printed"] == 1.0
    assert features(candidate("共有公寓2套[1]。", found), found)["quantity_printed"] == 0.0


def test_a_date_must_stand_next_to_what_was_asked() -> None:
    passages = ["编者按：2020年是不平凡的一年。", "6月11日上午，共同富裕推进会召开。"]
    found = evidence("共同富裕推进会是哪天召开的？", passages)
    anchored = features(candidate("推进会于6月11日召开[2]。", found), found)
    loose = features(candidate("推进会于2020年召开[1]。", found), found)
    assert anchored["date_anchored"] == 1.0
    assert loose["date_anchored"] == 0.0


def test_an_answer_that_adds_only_a_date_to_a_where_question() -> None:
    found = evidence("推进会是在哪个会场召开的？", ["4月15日，推进会召开。"])
    values = features(candidate("推进会是在4月15日召开的[1]。", found), found)
    assert values["only_dates_added"] == 1.0


def test_a_post_the_passages_never_name() -> None:
    found = evidence("代表团团长是谁？", ["德国石荷州代表团来访拱墅。"])
    assert features(candidate("代表团来访拱墅[1]。", found), found)["title_missing"] == 1.0


def test_support_and_the_models_own_refusal() -> None:
    found = evidence("往来酒店有什么特色？", HOTEL, model_refused=True)
    invented = features(candidate("往来酒店有无边泳池和米其林餐厅[2]。", found), found)
    quoted = features(candidate("客房配有刷脸入住系统[2]。", found), found)
    assert invented["support_mean"] < 0.5 <= quoted["support_mean"]
    assert invented["model_refused"] == 1.0
    assert set(invented) == set(FEATURES)


def test_judge_keeps_the_models_answer_or_refuses_below_the_threshold() -> None:
    """A trusted model answer is shown; a doubted one is refused, not replaced by the extract
    that shares most of the question's words; when the model refused, an extract may answer."""
    found = evidence("往来酒店有什么特色？", HOTEL)
    weights = dict.fromkeys(FEATURES, 0.0) | {"bias": -2.0, "support_mean": 4.0}
    model = VerdictModel({"model": weights, "extract": weights}, threshold=0.5, info={})
    invented = candidate("往来酒店有无边泳池和米其林餐厅[2]。", found)
    quoted = candidate("客房配有刷脸入住系统[2]。", found, kind="extract")
    assert judge([invented, quoted], found, model) is None  # doubted: a refusal
    assert invented.score < 0.5 <= quoted.score
    supported = candidate("往来酒店的客房配有刷脸入住系统[2]。", found)
    assert judge([supported, quoted], found, model) is supported
    refused = evidence("往来酒店有什么特色？", HOTEL, model_refused=True)
    said_no = candidate("资料中没有相关信息", refused)
    quoted = candidate("客房配有刷脸入住系统[2]。", refused, kind="extract")
    assert (
        judge([said_no, quoted], refused, model) is quoted
    )  # the model refused: extracts may answer


def test_an_extract_never_replaces_the_models_answer() -> None:
    found = evidence("瓜山未来社区住了多少人？", HOTEL)
    weights = dict.fromkeys(FEATURES, 0.0) | {"bias": 1.0}
    model = VerdictModel({"model": weights, "extract": weights}, threshold=0.5, info={})
    wrong_unit = candidate("瓜山未来社区共有公寓2734套[1]。", found)
    in_unit = candidate("已入住4500余人[1]。", found, kind="focus_extract")
    assert judge([wrong_unit, in_unit], found, model) is wrong_unit
    # what each prints of the asked thing is recorded for the evaluation's analysis
    assert (wrong_unit.carries, in_unit.carries) == (False, True)
    doubted = VerdictModel(
        {"model": weights | {"bias": -1.0}, "extract": weights}, threshold=0.5, info={}
    )
    assert judge([wrong_unit, in_unit], found, doubted) is None  # a refusal, not the extract


@pytest.mark.parametrize(
    ("scored", "refused", "expected"),
    [
        ([("model", 0.9), ("extract", 0.95)], False, 0),
        ([("model", 0.3), ("extract", 0.95)], False, None),  # doubted: refuse, no stand-in
        ([("model", 0.3), ("extract", 0.4)], False, None),
        ([("model", 0.9), ("detail_extract", 0.99)], False, 0),
        ([("model", 0.6), ("repaired", 0.8), ("extract", 0.9)], False, 1),
        ([("model", 0.1), ("extract", 0.7)], True, 1),  # the model refused: extracts may answer
        ([("model", 0.1), ("extract", 0.4)], True, None),
        ([("extract", 0.7), ("list_extract", 0.8)], False, 1),  # no model
        ([], False, None),
    ],
)
def test_the_choice_between_candidates(scored, refused, expected) -> None:
    assert choose(scored, refused, 0.5) == expected


def test_after_a_refusal_only_an_extract_that_prints_the_asked_thing_answers() -> None:
    scored = [("model", 0.1), ("extract", 0.9), ("detail_extract", 0.7)]
    assert choose(scored, True, 0.5, [None, False, True]) == 2  # the opening line is passed over
    assert choose(scored, True, 0.5, [None, False, False]) is None  # a refusal
    assert choose(scored, True, 0.5, [None, None, None]) == 1  # nothing a pattern can see


def test_the_part_an_answer_does_not_touch_is_named() -> None:
    parts = ["瓜山未来社区住了多少人", "往来酒店有几间客房"]
    found = evidence("瓜山未来社区住了多少人？往来酒店有几间客房？", HOTEL, parts)
    answered = candidate("已入住4500余人[1]。", found)
    assert missing_parts(answered, found, parts) == ["往来酒店有几间客房"]


@pytest.mark.parametrize(
    ("question", "printed", "not_printed"),
    [
        ("推进会是哪天开的？", "6月11日上午召开", "上午召开"),
        ("这期报纸是第几期？", "第27期", "第四版"),
        ("共有多少套公寓？", "2734套", "若干套"),
        # the digits of a date are no count; the count must be in the asked unit
        ("一共服务了多少位老人？", "服务老人1200余人", "1月8日下午设立162个站点"),
        ("有多少人参加？", "参加者超过300人", "8月16日电"),
    ],
)
def test_the_detail_extract_prints_what_is_asked(question, printed, not_printed) -> None:
    pattern = detail_pattern(question)
    assert pattern is not None
    assert pattern.search(printed) and not pattern.search(not_printed)


def test_a_model_file_with_other_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "verdict.json"
    path.write_text(
        json.dumps({"features": ["bias"], "coefficients": {"model": [0.0]}, "threshold": 0.5}),
        encoding="utf-8",
    )
    with pytest.raises(ArchiveQAError, match="重新拟合"):
        load_verdict_model(path)


def test_the_shipped_model_matches_the_code() -> None:
    model = load_verdict_model()
    assert set(model.coefficients) == set(GROUPS)
    assert all(set(weights) == set(FEATURES) for weights in model.coefficients.values())
    assert 0 < model.threshold < 1


def test_focus_words_tie_an_answer_to_what_was_asked() -> None:
    found = evidence("往来酒店一共有多少间客房？", HOTEL)
    flats = features(candidate("瓜山未来社区共有公寓2734套[1]。", found, "extract"), found)
    rooms = features(candidate("客房配有刷脸入住系统[2]。", found, "extract"), found)
    assert flats["has_focus"] == rooms["has_focus"] == 1.0
    assert flats["focus_in_quote"] == 0.0 and rooms["focus_in_quote"] == 1.0


STATIONS = [
    "阳光老人家设立服务站点162个，其中1月8日新开12个。",
    "红星联盟已完成1031家民营企业摸排。",
]


def test_a_count_in_another_unit_is_no_answer() -> None:
    found = evidence("阳光老人家一共服务了多少位老人？", STATIONS)
    stations = features(candidate("阳光老人家设立服务站点162个[1]。", found), found)
    assert stations["quantity_printed"] == 1.0  # the number is printed, but it counts stations
    assert stations["count_in_unit"] == 0.0
    found = evidence("阳光老人家设立了多少个站点？", STATIONS)
    assert features(candidate("设立服务站点162个[1]。", found), found)["count_in_unit"] == 1.0


def test_a_printed_number_given_to_something_else() -> None:
    found = evidence("红星联盟一共有多少名成员？", STATIONS)
    members = features(candidate("红星联盟一共有1031名成员[2]。", found), found)
    firms = features(candidate("红星联盟摸排了1031家民营企业[2]。", found), found)
    assert members["number_relabelled"] == 1.0 and firms["number_relabelled"] == 0.0


def test_an_answer_from_the_neighbouring_article_matches_less() -> None:
    """The toll of another place's flood, printed in the next article, is not the asked one."""
    from dataclasses import replace

    question = "台风杜苏芮影响期间北京因灾死亡多少人？"
    found = replace(
        evidence(
            question, ["台风杜苏芮影响期间，北京因灾死亡33人。", "河北涿州洪水中有11人遇难。"]
        ),
        articles={1: "beijing", 2: "zhuozhou"},
    )
    asked = features(candidate("北京因灾死亡33人[1]。", found), found)
    neighbour = features(candidate("洪水中有11人遇难[2]。", found), found)
    assert asked["article_match"] == 1.0
    assert 0.0 <= neighbour["article_match"] < 0.5
    unknown = evidence(question, ["台风杜苏芮影响期间，北京因灾死亡33人。"])
    assert features(candidate("北京因灾死亡33人[1]。", unknown), unknown)["article_match"] == 1.0
