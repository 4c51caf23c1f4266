from __future__ import annotations

from pathlib import Path

from index.clean import clean_pages
from index.masthead import parse_masthead
from index.parse import parse_issue
from index.schema import IssueMeta
from index.segment import is_heading_candidate, segment
from qa.settings import Settings
from tests.conftest import DATA


def _segment(text: str):
    lines, _ = clean_pages([text])
    meta, start = parse_masthead(lines, "t.txt")
    return segment(lines[start:], meta, "t.txt", "hash")


def test_fixture_issue_structure(settings: Settings) -> None:
    issue = parse_issue(DATA / "sample_issue.txt", settings.read_options())
    first, second = issue.articles
    assert first.title == "临江区启动老旧小区改造三年行动 今年计划完成改造小区42个"
    assert first.byline == "本报讯(记者 王小明 通讯员 李华)"
    # the sentence broken by a photo caption is joined again; the caption is kept apart
    assert "临江区召开老旧小区改造推进会，部署三年行动计划。" in first.text
    assert first.captions == ["东湖社区改造后的小区环境 张丽/摄"]
    # "(下转2版)" … "(上接1版)" joined into one article, markers removed
    assert first.continued
    assert "先征求居民意见再施工" in first.text
    assert "下转" not in first.text and "上接" not in first.text
    assert second.title == "春季植树活动在滨江公园举行"
    assert "导读" not in first.text + second.text
    assert "十条春游线路" not in first.text + second.text
    assert issue.guide[:2] == ["导读", "临江文旅推出十条春游线路"]
    assert not any("热线" in a.text or "扫一扫" in a.text for a in issue.articles)


def test_article_ids_are_stable_and_spans_point_into_cleaned_text(settings: Settings) -> None:
    one = parse_issue(DATA / "sample_issue.txt", settings.read_options())
    two = parse_issue(DATA / "sample_issue.txt", settings.read_options())
    assert [a.id for a in one.articles] == [a.id for a in two.articles]
    assert len({a.id for a in one.articles}) == len(one.articles)
    for article in one.articles:
        start, end = article.span
        assert one.cleaned_text[start:end] == article.text


def test_byline_without_headline_starts_a_titled_by_first_sentence_article() -> None:
    articles, _, _ = _segment(
        "区政协召开常委会议\n\n本报讯(通讯员 葛菁)6月10日上午,区政协召开常委会议。会议协商通过了有关事项。\n\n"
        "本报讯(记者 王五)6月6日上午,数字经济研究院在智慧网谷揭牌。多家企业签署合作协议。\n"
    )
    assert [a.title for a in articles] == [
        "区政协召开常委会议",
        "6月6日上午,数字经济研究院在智慧网谷揭牌",
    ]
    assert articles[1].title_inferred and not articles[0].title_inferred


def test_headline_printed_below_its_story_is_given_back() -> None:
    articles, _, _ = _segment(
        "本报讯（综合报道）日前，刘市长赴我区调研。他强调，要打造国际化现代化时代地标。\n\n"
        "刘市长在我区调研时强调 努力打造时代地标\n\n我区召开招商引资工作推进会\n\n"
        "本报讯（记者 季辰欣）4月15日，我区召开招商引资工作推进会，部署招商引资工作。\n"
    )
    assert [a.title for a in articles] == [
        "刘市长在我区调研时强调 努力打造时代地标",
        "我区召开招商引资工作推进会",
    ]


def test_intertitles_stay_inside_their_article() -> None:
    articles, _, _ = _segment(
        "望江街道打造产城融合新城\n\n本报讯（望江街道）望江街道坚持疫情防控和复工复产两手抓，推进产城融合。\n\n"
        "防疫复工双战双赢\n\n望江街道聚焦精准智控，推进复工复产，疫情防控和复工复产实现双赢。\n\n"
        "征迁安置提速升级\n\n望江街道紧抓城中村改造契机，推进征迁安置和复工复产，产城融合提速。\n"
    )
    assert len(articles) == 1
    assert "防疫复工双战双赢" in articles[0].text
    assert "征迁安置提速升级" in articles[0].text


def test_broken_line_inside_a_word_is_not_a_headline() -> None:
    assert not is_heading_candidate(
        "敖煜新还与一家创新型医疗", "器械企业就项目合作事宜进行对接洽谈。", 64
    )
    assert is_heading_candidate(
        "区委全面深化改革委员会会议召开", "本报讯(记者 林韬)6月13日上午", 64
    )
    assert not is_heading_candidate("敖煜新强调,要集中精力抓", "经济,紧扣经济指标持续攻坚", 64)


def test_editor_note_introduces_the_next_article() -> None:
    articles, _, _ = _segment(
        "全力以赴做好安全生产工作\n\n本报讯(记者 王苑阳)1月12日上午,区长带队暗访检查安全生产。\n\n"
        "编者按:即日起,本报推出系列报道,讲述发展故事。\n\n"
        "2020年我区产业发展迈出新步伐\n\n本报讯(记者 王苑阳)从城北科祥路一路往西,产业平台建设蹄疾步稳。\n"
    )
    assert [a.title for a in articles] == [
        "全力以赴做好安全生产工作",
        "2020年我区产业发展迈出新步伐",
    ]
    assert "编者按" not in articles[0].text
    assert articles[1].text.startswith("编者按")


def test_every_article_carries_issue_metadata(settings: Settings) -> None:
    issue = parse_issue(DATA / "sample_issue.txt", settings.read_options())
    for article in issue.articles:
        assert (article.paper, article.date, article.issue_no, article.total_issue_no) == (
            "临江报",
            "2023-03-08",
            5,
            321,
        )
        assert article.source_file == "sample_issue.txt"
        assert article.page == 1


def test_segment_handles_no_lines() -> None:
    articles, guide, dropped = segment([], IssueMeta(), "t.txt", "h")
    assert (articles, guide, dropped) == ([], [], [])


def test_empty_after_cleaning_is_an_error(tmp_path: Path, settings: Settings) -> None:
    import pytest

    from index.errors import ArchiveQAError

    path = tmp_path / "furniture.txt"
    path.write_text("http://www.example.com\n新闻热线：12345678\n", encoding="utf-8")
    with pytest.raises(ArchiveQAError, match="没有找到任何文章"):
        parse_issue(path, settings.read_options())
