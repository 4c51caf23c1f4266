from __future__ import annotations

from qa.citations import best_quote, check_answer, marker_numbers, split_sentences, support

PASSAGES = {
    1: "全年,33个项目签约落地。其中,阿里云智能物联网产业基地等18个重大项目在拱墅安家落户。",
    2: "6月28日上午,杭州市拱墅区消防救援局举行挂牌仪式。市消防救援支队支队长何肇瑜出席仪式。",
}


def test_every_marker_form_is_read() -> None:
    text = "甲[1]。乙【2】。丙[1,2]。丁[1、2][3]。戊[资料2]。"
    assert [numbers for _, numbers in split_sentences(text)] == [[1], [2], [1, 2], [1, 2, 3], [2]]
    assert marker_numbers(text) == [1, 2, 1, 2, 1, 2, 3, 2]


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    sentences = split_sentences("33个项目签约落地。[1]何肇瑜出席。[2]")
    assert sentences == [("33个项目签约落地。", [1]), ("何肇瑜出席。", [2])]


def test_support_is_share_of_sentence_bigrams_in_the_passage() -> None:
    assert support("33个项目签约落地", PASSAGES[1]) == 1.0
    assert support("何肇瑜出席", PASSAGES[1]) == 0.0
    assert 0.5 < support("拱墅全年有33个项目签约落地", PASSAGES[1]) < 1.0
    assert support("。！", PASSAGES[1]) == 0.0  # punctuation only: nothing to support


def test_markers_that_map_to_nothing_are_removed() -> None:
    checked = check_answer("全年33个项目签约落地[1][7]。", PASSAGES, threshold=0.5)
    assert checked.removed_markers == [7]
    assert checked.text == "全年33个项目签约落地[1]。"
    assert checked.sentences[0].supported


def test_wrong_marker_is_repointed_and_missing_marker_added() -> None:
    checked = check_answer(
        "支队长何肇瑜出席了挂牌仪式[1]。其中18个是重大项目。", PASSAGES, threshold=0.5
    )
    assert [s.cited for s in checked.sentences] == [[2], [1]]
    assert checked.text == "支队长何肇瑜出席了挂牌仪式[2]。其中18个是重大项目[1]。"
    assert checked.cited_numbers == [1, 2]


def test_unsupported_sentence_is_marked_not_hidden() -> None:
    checked = check_answer("消防救援局共有300名指战员[2]。", PASSAGES, threshold=0.5)
    sentence = checked.sentences[0]
    assert sentence.cited == [2] and not sentence.supported


def test_best_quote_is_the_passage_sentence_behind_the_claim() -> None:
    assert best_quote("何肇瑜出席了仪式", PASSAGES[2]) == "市消防救援支队支队长何肇瑜出席仪式。"
