from __future__ import annotations

from index.clean import (
    clean_pages,
    is_furniture,
    is_scrambled,
    is_spaced_ocr,
    remove_cjk_spaces,
    running_head_page,
)

SPACED = [
    "本报讯(记者 林韬 通讯员 黄 朝文)6月11日上午,区委常委 会召开扩大会议传达学习习近平 总书记重要讲话精神,研究部署 贯彻落实工作。",
    "会议强调,要认真学习习近 平总书记重要讲话精神,全 面贯彻落实各项决策部署, 推动各项工作落地见效。",
    "李志龙强调,要坚持党建引 领,进一步织密组织体系, 健全工作机制,培养一支了 解民情、专业高效的团队。",
]


def test_spaces_inside_chinese_are_removed_in_spaced_ocr() -> None:
    assert is_spaced_ocr(SPACED)
    lines, _ = clean_pages(["\n".join(SPACED)])
    assert "区委常委会召开扩大会议" in lines[0].text
    assert "黄朝文" in lines[0].text
    assert " " not in lines[1].text


def test_ordinary_text_is_not_spaced_ocr() -> None:
    lines = [
        "本报讯(记者 梦诗三悦 通讯员 赵斌)警旗猎猎,誓言铮铮。1月8日下午,在首个节日即将到来之际,领导率队看望慰问。",
        "在区公安分局大院,领导为基层民警代表送上慰问品,关切询问一线民警的工作生活情况。",
    ]
    assert not is_spaced_ocr(lines)


def test_headline_spaces_survive_in_ordinary_text() -> None:
    headline = "全面紧起来动起来严起来 坚决打赢疫情防控硬仗"
    body = "本报讯(记者 王五)1月8日下午,区里召开全区统筹疫情防控工作会议,研究部署下一阶段疫情防控工作。"
    lines, _ = clean_pages([f"{headline}\n\n{body}"])
    assert lines[0].text == headline
    assert lines[1].text.startswith("本报讯(记者 王五)")


def test_latin_words_keep_their_spaces() -> None:
    assert (
        remove_cjk_spaces("Shang Cheng Bao 上城 报", keep_byline=False) == "Shang Cheng Bao上城报"
    )


def test_full_width_punctuation_is_kept_as_printed() -> None:
    lines, _ = clean_pages(
        ["会议指出：要“稳中求进”，不断提升（群众）满意度！这是第一段正文内容的结尾部分。"]
    )
    assert (
        lines[0].text
        == "会议指出：要“稳中求进”，不断提升（群众）满意度！这是第一段正文内容的结尾部分。"
    )


def test_page_furniture_is_recognised() -> None:
    for line in (
        "http://www.gongshu.gov.cn",
        "新闻热线：88259745 88259925",
        "扫一扫 了解上城大小事",
        "欢迎关注韵味上城APP二维码",
        "拱墅发布微信公众号",
        "0571-87815721",
        "责任编辑：张三",
        "2021年1月15日 星期五 第2版 要闻",
        "- 3 -",
    ):
        assert is_furniture(line), line
    for line in ("区政协召开五届二十次常委会议", "会议强调,要扛起政治担当。", "今日拱墅"):
        assert not is_furniture(line), line


def test_running_head_gives_page_number() -> None:
    assert running_head_page("2021年1月15日 星期五 第2版 要闻") == 2
    assert running_head_page("区政协召开五届二十次常委会议") is None


def test_scrambled_vertical_headline_is_debris() -> None:
    assert is_scrambled(
        "委常 实绩写好高新 会召 开 会议 传 水平创 捷 调 建 研 的 墅 厚实答卷 讲 话 精"
    )
    assert not is_scrambled("区委常委 会召开扩大会议传达学习习近平 总书记近期重要讲话")
