"""What a question asks for (qa/asked.py)."""

from __future__ import annotations

import pytest

from qa.asked import (
    adds_only_dates,
    asked_detail,
    asked_focus,
    asked_title,
    asked_units,
    asks_quantity,
    given_dates,
    names_title,
    prints_count,
    relabelled_numbers,
)


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("德国石荷州代表团这次来拱墅，团长是谁？", "团长"),
        ("三峡大瀑布景区的常务副总经理是谁？", "副总经理"),
        ("谁是这次活动的主持人？", "主持人"),
        ("代表团团长由谁担任？", "团长"),
        ("这个项目的负责人叫什么名字？", "负责人"),
        # asked by deed or by something that is no post: nothing to look for
        ("市消防救援支队是谁出席的？", None),
        ("谁获得了A组摩登舞冠军？", None),
        ("与这部剧相关的人物是谁？", None),
        ("拱墅区政协主席在2020年和2024年的报道中分别是谁？", None),
    ],
)
def test_asked_title(question: str, title: str | None) -> None:
    assert asked_title(question) == title


def test_names_title_accepts_the_short_form_of_a_post() -> None:
    assert names_title("外交部长", "乌克兰部长库列巴表示")
    assert names_title("县委书记", "黄平县委书记林昌富")
    assert names_title("主持人", "区政协主席周志辉主持")
    assert not names_title("团长", "代表团中，劳赫教授领衔的项目入选")


def test_quantity_and_date_questions() -> None:
    assert asks_quantity("一共入驻了多少家金融机构？")
    assert asks_quantity("考察交流持续了多久？")
    assert not asks_quantity("团长是谁？")
    assert asked_detail("黄平县什么时候脱贫摘帽的？").search("3月4日")
    assert asked_detail("那期是第几期？").search("第27期")
    assert asked_detail("第几期").search("第4版") is None
    assert asked_detail("黄平县退出了什么序列？") is None
    assert asked_detail("会议的时间是？").search("6月10日")


def test_given_dates_are_the_most_precise_parts_not_in_the_question() -> None:
    assert given_dates("2020年3月4日脱贫摘帽", "黄平县什么时候脱贫摘帽？") == ["4日"]
    assert given_dates("2020年9月投用", "什么时候投用？") == ["9月"]
    assert given_dates("2024年6月的会议在2025年召开", "2024年6月的会议是哪一年召开的？") == [
        "2025年"
    ]


def test_adds_only_dates() -> None:
    question = "推进会是在哪个会场召开的？"
    assert adds_only_dates(["推进会是在4月15日召开的。"], question)
    assert not adds_only_dates(["推进会4月15日在区行政中心召开。"], question)
    assert not adds_only_dates(["何肇瑜出席仪式。"], "市消防救援支队是谁出席的？")


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        ("往来酒店一共有多少间客房？", "客房"),
        ("拱墅区公安分局一共有多少名民警？", "民警"),
        ("禾迈电力去年的营收是多少？", "营收"),
        ("研究院的院长是谁？", "院长"),
        ("瓜山未来社区的公寓每月租金多少钱？", "月租金"),
        ("瓜山未来社区民宿组团一期建成开放的是哪家酒店？", None),
    ],
)
def test_asked_focus(question: str, focus: str | None) -> None:
    assert asked_focus(question) == focus


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("阳光老人家一共服务了多少位老人？", "名"),  # people: 位, 名 and 人 answer alike
        ("往来酒店有多少间客房？", "间"),
        ("改造一共花了多少钱？", "元"),
        ("总投资多少万元？", "元"),
        ("晴雨客厅的面积有多大？", "平方米"),
        ("这项工程要多久完成？", "天"),
        ("禾迈电力准备在哪个板块上市？", None),
    ],
)
def test_asked_units(question: str, unit: str | None) -> None:
    units = asked_units(question)
    assert (unit in units) if unit else units == ()


def test_relabelled_numbers_ignore_dates_and_numbers_the_passages_never_print() -> None:
    passages = "2024年6月落地拱墅。共计出租2734间公寓。"
    assert relabelled_numbers(["一共有2734间客房。"], passages, "有多少间客房？")
    assert not relabelled_numbers(["出租了2734间公寓。"], passages, "有多少间公寓？")
    assert not relabelled_numbers(["是在2024年6月落地的。"], passages, "什么时候落地？")
    assert not relabelled_numbers(["一共有3000间客房。"], passages, "有多少间客房？")


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("每月最多可提取2000元", True),
        ("共3.5万", True),
        ("2023-08-17 16:31，正文：雄安金湖公园风光", False),  # a dateline is no count
        ("2023/08/17 发布", False),
        ("8月17日发布", False),
    ],
)
def test_a_count_without_a_unit_is_no_part_of_a_date_or_time(text: str, counts: bool) -> None:
    assert prints_count([text], "公积金每月最多能取多少？") is counts


def test_a_number_given_another_unit_of_measure_is_relabelled() -> None:
    passages = "物理科目组合有16947个“专业（类）+院校”组合。入住4500余人，共有162名老人。"
    question = "本科批物理类的录取控制分数线是多少分？"
    assert relabelled_numbers(["分数线是16947分。"], passages, question)  # a count, not a score
    assert not relabelled_numbers(["有162人。"], passages, "有多少位老人？")  # 人 and 名: one unit
    assert not relabelled_numbers(["共16947项。"], passages, question)  # counting words vary
