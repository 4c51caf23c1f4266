"""What the model reads (greedy question coverage) and the repairs of its typical slips."""

from __future__ import annotations

from index.chunk import Passage
from index.tokenize import tokenize
from qa.asked import counted_pattern
from qa.citations import CheckedSentence
from qa.context import GAP, article_candidates, passage_context, select_context
from qa.extractive import extract, extract_list, extract_near
from qa.repair import answer_echoes, echoed_parts, restore_asked_detail
from qa.retrieve import Hit


def hit(text: str, name: str = "p") -> Hit:
    passage = Passage(
        source_file="a.txt", title=name, id=name, article_id=name, text=text, span=(0, 1)
    )
    return Hit(passage, 1.0, 0.0, 0.0)


def weights_for(question: str) -> dict[str, float]:
    return dict.fromkeys(tokenize(question), 1.0)


def test_two_part_question_gets_a_sentence_for_each_part() -> None:
    question = "科技园揭牌时和哪些企业签了合作协议？入驻了多少家机构？"
    first = hit(
        "科技园揭牌仪式今天举行。科技园揭牌仪式由区长主持，科技园将服务全区。"
        "科技园与甲公司、乙公司签署合作协议。目前已入驻机构40家。"
    )
    context = select_context([first], [weights_for(question)], budget_chars=200)
    excerpt = context[0].excerpt
    assert "甲公司、乙公司签署合作协议" in excerpt
    assert "入驻机构40家" in excerpt


def test_a_sentence_that_adds_nothing_is_left_out() -> None:
    question = "图书馆几点开门？"
    passages = [hit("图书馆上午九点开门。天气晴朗，气温适宜。", "a"), hit("公园里花开了。", "b")]
    context = select_context(passages, [weights_for(question)], budget_chars=300)
    assert [c.hit.passage.id for c in context] == ["a"]
    assert context[0].excerpt == "图书馆上午九点开门。"


def test_sentences_keep_printed_order_and_gaps_are_marked() -> None:
    question = "运河公园的面积和开放时间？"
    text = "运河公园位于城北。城北交通方便。公园面积为20公顷。每天开放时间为6点到22点。"
    context = select_context([hit(text)], [weights_for(question)], budget_chars=300)
    excerpt = context[0].excerpt
    assert excerpt.startswith("运河公园位于城北。")
    assert GAP + "公园面积为20公顷。每天开放时间" in excerpt


def test_without_any_question_word_the_top_passage_is_read() -> None:
    passages = [hit("图书馆上午九点开门。周一闭馆。", "a"), hit("公园里花开了。", "b")]
    context = select_context(passages, [weights_for("When does it open?")], budget_chars=300)
    assert [(c.hit.passage.id, c.excerpt) for c in context] == [
        ("a", "图书馆上午九点开门。周一闭馆。")
    ]


def test_budget_is_respected() -> None:
    question = "运河公园有什么？"
    text = "运河公园有步道。" * 3 + "运河公园有花园和湖。"
    context = select_context([hit(text)], [weights_for(question)], budget_chars=12)
    assert sum(len(c.excerpt) for c in context) <= 12 + len(GAP)


BODY = "2018年以来,两地协作。今年3月4日,黄平县被批准退出贫困县序列,实现整县脱贫摘帽目标。"


def test_when_question_gets_the_date_its_sentence_prints() -> None:
    sentence = CheckedSentence("黄平县被批准退出贫困县序列,实现整县脱贫摘帽目标。", [1], 0.9, True)
    repaired = restore_asked_detail([sentence], {1: BODY}, "黄平县什么时候脱贫摘帽的？")
    assert repaired[0].text.startswith("今年3月4日")
    assert repaired[0].cited == [1]


def test_dated_answers_and_other_questions_are_left_alone() -> None:
    dated = CheckedSentence("3月4日黄平县脱贫摘帽。", [1], 0.9, True)
    assert restore_asked_detail([dated], {1: BODY}, "黄平县什么时候脱贫摘帽的？") == [dated]
    plain = CheckedSentence("黄平县被批准退出贫困县序列。", [1], 0.9, True)
    assert restore_asked_detail([plain], {1: BODY}, "黄平县退出了什么序列？") == [plain]


def test_which_issue_question_gets_the_number_of_that_unit() -> None:
    masthead = "今日拱墅 2024年6月14日 第27期 总第177期 本期4版。新闻热线 88259745。"
    wrong_unit = CheckedSentence("2024年6月那期今日拱墅是第4版。", [1], 0.8, True)
    repaired = restore_asked_detail([wrong_unit], {1: masthead}, "2024年6月那期今日拱墅是第几期？")
    assert "第27期" in repaired[0].text and repaired[0].cited == [1]
    right = CheckedSentence("2024年6月那期是第27期。", [1], 0.8, True)
    assert restore_asked_detail([right], {1: masthead}, "那期是第几期？") == [right]


def test_echoed_question_part_is_replaced_by_the_passage_sentence() -> None:
    question = "专班要抓好什么赛马机制？考核体系怎么完善？"
    body = "专班要持续抓好“一表一库”赛马机制。各组要调整目标任务,完善“贡献度”考核体系。"
    answer = [CheckedSentence("专班要抓好“一表一库”赛马机制，考核体系怎么完善。", [1], 0.9, True)]
    assert echoed_parts(answer[0].text, question) == ["考核体系怎么完善"]
    repaired = answer_echoes(answer, {1: body}, question, weights_for(question))
    assert [s.text for s in repaired] == [
        "专班要抓好“一表一库”赛马机制。",
        "各组要调整目标任务,完善“贡献度”考核体系。",
    ]
    assert all(s.cited == [1] and s.supported for s in repaired)


def test_an_answer_that_answers_is_not_touched() -> None:
    question = "考核体系怎么完善？"
    answer = [CheckedSentence("完善“贡献度”考核体系。", [1], 0.9, True)]
    assert (
        answer_echoes(answer, {1: "完善“贡献度”考核体系。"}, question, weights_for(question))
        == answer
    )


def test_whole_question_echo_leaves_no_punctuation_behind() -> None:
    body = {1: "往来酒店开业。酒店的特色是刷脸入住的客房。"}
    echoed = [CheckedSentence("那它有什么特色？", [1], 0.0, False)]
    question = "那它有什么特色？（上一问：开放的是哪家酒店；答：往来酒店）"
    repaired = answer_echoes(echoed, body, question, weights_for(question))
    assert [s.text for s in repaired] == ["酒店的特色是刷脸入住的客房。"]


def article(name: str, *texts: str) -> list[Passage]:
    """The passages of one article, in printed order (neighbours may overlap)."""
    return [
        Passage(
            source_file="a.txt",
            title=name,
            id=f"{name}-{n}",
            article_id=name,
            text=text,
            span=(n * 100, n * 100 + len(text)),
        )
        for n, text in enumerate(texts)
    ]


def test_the_answer_in_another_passage_of_the_retrieved_article_is_read() -> None:
    """Passages rank, articles answer: retrieval found the article's opening, the figure
    stands two passages further on."""
    question = "智慧园区今年引进了多少家企业？"
    park = article(
        "park",
        "智慧园区今年建设顺利。智慧园区位于城北。",
        "园区环境优美，交通方便。",
        "今年园区引进企业35家，新增就业2000人。",
    )
    other = article("other", "城南公园开放。")
    hits = [Hit(park[0], 1.0, 0.0, 0.0), Hit(other[0], 0.5, 0.0, 0.0)]
    passages = {"park": park, "other": other}.__getitem__
    candidates, penalties = article_candidates(hits, passages, 3, 0.02, 0.05)
    assert [c.passage.id for c in candidates] == ["park-0", "park-1", "park-2", "other-0"]
    assert penalties == [0.0, 0.05, 0.05, 0.02]
    context = select_context(candidates, [weights_for(question)], 200, penalties=penalties)
    read = "".join(item.excerpt for item in context)
    assert "引进企业35家" in read
    assert all(item.hit.passage.article_id == "park" for item in context)
    # only the best articles are opened
    assert [c.passage.id for c in article_candidates(hits, passages, 1, 0.02, 0.05)[0]] == [
        "park-0",
        "park-1",
        "park-2",
    ]


def test_a_retrieved_passage_is_preferred_to_an_unretrieved_sibling_saying_as_much() -> None:
    question = "文化节什么时候开幕？"
    festival = article("f", "文化节将于5月1日开幕。", "据悉，文化节将于5月1日开幕，为期三天。")
    hits = [Hit(festival[1], 1.0, 0.0, 0.0)]
    candidates, penalties = article_candidates(hits, {"f": festival}.__getitem__, 3, 0.02, 0.05)
    context = select_context(candidates, [weights_for(question)], 20, penalties=penalties)
    assert [item.hit.passage.id for item in context] == ["f-1"]


def test_overlapping_sentences_of_neighbouring_passages_are_read_once() -> None:
    question = "新馆有多少个座位？"
    library = article("lib", "新馆建筑面积1万平方米。新馆共有座位800个。", "新馆共有座位800个。")
    context = select_context([Hit(p, 1.0, 0.0, 0.0) for p in library], [weights_for(question)], 300)
    read = "".join(item.excerpt for item in context)
    assert read.count("座位800个") == 1


def test_whole_passages_are_read_in_printed_order_with_their_neighbours() -> None:
    """The passages mode: retrieved passages whole, an article's pieces in printed order
    (the splitter's overlap read once), then the next passage of the best article while
    the budget allows; other articles after."""
    park = [
        Passage(source_file="a.txt", title="park", id=f"park-{n}", article_id="park",
                text=text, span=(start, start + len(text)))
        for n, (start, text) in enumerate(
            [(0, "智慧园区今年建设顺利。园区位于城北。"), (11, "园区位于城北。交通方便。"),
             (23, "今年园区引进企业35家。")]
        )
    ]  # fmt: skip
    other = article("other", "城南公园开放。")
    passages = {"park": park, "other": other}.__getitem__
    hits = [Hit(park[1], 1.0, 0.0, 0.0), Hit(other[0], 0.5, 0.0, 0.0)]
    context = passage_context(hits, passages, 200, max_articles=3)
    assert [item.hit.passage.id for item in context] == ["park-0", "park-1", "park-2", "other-0"]
    assert [item.excerpt for item in context[:3]] == [
        "智慧园区今年建设顺利。园区位于城北。",
        "交通方便。",  # what park-1 shares with park-0 is read once
        "今年园区引进企业35家。",
    ]
    tight = passage_context(hits, passages, 15, max_articles=3)
    assert [item.hit.passage.id for item in tight] == ["park-1"]  # the budget holds
    assert tight[0].excerpt.startswith(GAP)  # not the article's start
    one = passage_context(hits, passages, 200, max_articles=1)
    assert {item.hit.passage.article_id for item in one} == {"park"}
    deeper = passage_context(hits, passages, 15, max_articles=3, continuation_chars=30)
    # more of the article already read fills the larger budget; a new article does not
    assert [item.hit.passage.id for item in deeper] == ["park-0", "park-1"]


def test_the_sentence_beside_the_focus_word_and_the_enumerating_sentence() -> None:
    bodies = {
        1: "瓜山未来社区是我区体量最大的保留农居点，入住人数多。目前共有公寓2734套。",
        2: "截至目前，入住总人数达4500余人。社区设有食堂、图书馆、健身房、托育中心。",
    }
    weights = weights_for("瓜山未来社区住了多少人？")
    near = extract_near(bodies, weights, "入住", counted_pattern("瓜山未来社区住了多少人？"))
    assert near == "截至目前，入住总人数达4500余人[2]。"
    listed = extract_list(bodies, weights_for("瓜山社区有哪些配套设施？"))
    assert listed == "社区设有食堂、图书馆、健身房、托育中心[2]。"
    assert extract_near(bodies, weights, "客房", None) == ""


def test_an_opening_line_is_quoted_without_its_dateline() -> None:
    """A CRUD-style file's first line ("2023-08-02 07:27:03，正文：…") is no answer: its
    date and label are the file's. The sentence after the label may still be quoted."""
    passages = {
        1: "2023-08-02 07:27:03，正文：武汉公交二公司为“拉铃公交”调试设备。试点将持续8个月。",
        2: "08-04 06:36，正文：特朗普可能面临561年的监禁。",
    }
    question = "拉铃公交试点持续多久？"
    weights = dict.fromkeys(set(tokenize(question)), 1.0)
    text, _ = extract(passages, weights, counted_pattern("持续多少个月？"), 1)
    assert text == "试点将持续8个月[1]。"  # the dateline's digits are not the asked count
    lead, _ = extract(passages, weights)
    assert "正文" not in lead and "07:27" not in lead
    assert lead.startswith("武汉公交二公司为“拉铃公交”调试设备[1]")
    assert extract_near({2: passages[2]}, {"监禁": 1.0}, "监禁", None) == (
        "特朗普可能面临561年的监禁[2]。"
    )
