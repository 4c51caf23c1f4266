"""Splitting a question that asks several things into its parts (qa/parts.py)."""

from __future__ import annotations

import pytest

from qa.parts import question_parts


@pytest.mark.parametrize(
    "question",
    [
        "瓜山未来社区民宿组团一期建成开放的是哪家酒店？",
        "老神线的起点和终点分别在哪里？",  # one clause: answered from one sentence
        "2020年拱墅一共签约了多少个项目？",
        "在大比武活动中，章燕提了什么要求？",  # the lead clause asks nothing
    ],
)
def test_a_question_that_asks_one_thing_is_one_part(question: str) -> None:
    assert [(p.text, p.query) for p in question_parts(question)] == [(question, question)]


def test_two_asked_clauses_are_two_parts_and_the_second_is_searched_with_the_subject() -> None:
    parts = question_parts("望江7大项目什么时候集中开工？总投资多少？")
    assert [p.text for p in parts] == ["望江7大项目什么时候集中开工", "总投资多少"]
    assert parts[1].query == "望江7大项目什么时候集中开工 总投资多少"


def test_a_clause_that_asks_with_ne_or_duo_da_is_a_part() -> None:
    assert len(question_parts("拱墅建成了多少个阳光老人家？阳光小伢儿驿站呢？")) == 2
    assert len(question_parts("数研院现在在哪里办公？场地有多大？")) == 2


def test_a_lead_clause_that_asks_nothing_stays_with_its_question() -> None:
    parts = question_parts("2020年6月9日下午,区人大常委会开了哪两个会?各自主要议题是什么?")
    assert parts[0].text == "2020年6月9日下午，区人大常委会开了哪两个会"


def test_two_years_in_one_clause_are_searched_one_year_at_a_time() -> None:
    parts = question_parts("2021年初和2024年的报纸里，拱墅区委书记分别是谁？")
    assert [p.text for p in parts] == ["2021年", "2024年"]
    assert parts[0].query == "2021年初的报纸里，拱墅区委书记分别是谁？"
    assert parts[1].query == "2024年的报纸里，拱墅区委书记分别是谁？"


def test_a_later_clause_with_its_own_year_drops_the_first_clauses_year() -> None:
    parts = question_parts("2020年6月拱墅的区长是谁？2024年夏天又是谁？")
    assert parts[1].query == "6月拱墅的区长是谁 2024年夏天又是谁"


def test_at_most_three_parts() -> None:
    question = "甲是什么？乙是什么？丙是什么？丁是什么？"
    assert len(question_parts(question)) == 3


def test_a_followups_carried_earlier_turn_is_no_part_and_names_no_year() -> None:
    """The rule's "（上一问：…；答：…）" (qa/condense.py) is searched with, never asked: its
    question mark and its dates split nothing, and no part reads "没有找到“（上一问…”"."""
    carried = "（上一问：胜海立交要施工多久；答：2023年7月29日至2024年7月29日）"
    assert [(p.text, p.query) for p in question_parts("那这期间小车要怎么绕？" + carried)] == [
        ("那这期间小车要怎么绕？", "那这期间小车要怎么绕？")
    ]
    parts = question_parts(
        "其中投资最大的是哪个项目？投了多少？（上一问：望江7大项目何时开工；答：3月25日）"
    )
    assert [p.text for p in parts] == ["其中投资最大的是哪个项目", "投了多少"]
    assert parts[1].query == "其中投资最大的是哪个项目 投了多少"
