"""What a question asks for, and what an answer to it must therefore print.

A small model fills a gap in the passages with a plausible neighbour: another number, a
date-less paraphrase, the person who led something else. These detectors name what was
asked (a quantity, a date, "第N期", the holder of a title) so that the answer check can tell
an answer from a near miss.
"""

from __future__ import annotations

import re

import jieba

from qa.citations import content

_QUANTITY = re.compile(
    r"多少|多久|多长时间|多远|多高|几[个名家位项次人万亿岁年天]|数量|人数|金额|面积|规模"
)
NUMBER = re.compile(r"\d+(?:\.\d+)?|[一二三四五六七八九十百千万亿两半]+")
_ASKS_DATE = re.compile(
    r"什么时候|何时|哪天|哪一天|哪日|几月|几号|哪年|哪一年|哪个月|什么时间|什么日子|日期|时间[是为]"
)
DATE = re.compile(r"[\d〇零一二三四五六七八九十]+\s*[年月日号]")
_ASKS_ORDINAL = re.compile(r"第几\s*([期版次届批轮号章条项])")
# "哪些", "哪几家", "哪五大问题", "哪三个", "分别", "有什么…和…": an answer that names several.
_ASKS_LIST = re.compile(r"哪些|哪几|哪[两二三四五六七八九十\d]+|分别|各自|都有(?:什么|哪)")
QUESTION_WORD = re.compile(r"什么|哪|怎么|怎样|如何|多少|多久|几|谁|是否|吗")
CLAUSE_END = re.compile(r"[，,？?；;。！!]")

# "团长是谁", "谁是主持人", "团长由谁担任", "负责人叫什么名字": the title sits next to these.
_TITLE_BEFORE = re.compile(r"(?:是|为)谁|由谁(?:担任|出任)|叫什么(?:名字)?|姓什么")
_TITLE_AFTER = re.compile(r"谁(?:是|担任|出任|任)")
# Words that name a post or role ("县委书记", "副总经理", "团长", "主持人").
_TITLE_ENDINGS = (
    "长", "书记", "主任", "主席", "委员", "经理", "董事", "总监", "总裁", "秘书", "理事",
    "负责人", "主持人", "发言人", "领队", "教练", "主编", "总师",
)  # fmt: skip


def _words(text: str) -> list[str]:
    return [w for w in jieba.lcut(text) if w.strip()]


def asks_quantity(question: str) -> bool:
    return bool(_QUANTITY.search(question))


def asks_list(question: str) -> bool:
    return bool(_ASKS_LIST.search(question))


def asks_date(question: str) -> bool:
    return bool(_ASKS_DATE.search(question))


def asked_detail(question: str) -> re.Pattern[str] | None:
    """What an answer to ``question`` must print: a date, a number of the asked unit, or
    nothing in particular (None)."""
    ordinal = _ASKS_ORDINAL.search(question)
    if ordinal:
        return re.compile(r"[\d〇零一二三四五六七八九十百]+\s*" + ordinal.group(1))
    return DATE if asks_date(question) else None


def given_dates(answer: str, question: str) -> list[str]:
    """The most precise date parts ``answer`` gives beyond those in ``question``: its days
    ("4日") if any, else its months, else its years."""
    parts = [part for part in DATE.findall(answer) if part not in question]
    for units in ("日号", "月"):
        precise = [part for part in parts if part[-1] in units]
        if precise:
            return precise
    return parts


def adds_only_dates(claims: list[str], question: str) -> bool:
    """Do the claims tell nothing beyond the question's own words but a date? ("推进会是在
    4月15日召开的" for "推进会在哪个会场召开的？": the place was not found, a date was.)"""
    if not any(DATE.search(claim) for claim in claims):
        return False
    rest = content("".join(DATE.sub("", claim) for claim in claims))
    return not set(rest) - set(content(question))


# "多少名民警", "几间客房", "多大年纪": the thing counted or measured follows the question word;
# "营收是多少", "院长是谁", "公司叫什么", "租金多少钱": the thing asked about precedes it.
_FOCUS_AFTER = re.compile(
    r"(?:多少|几|多大|多长|多高|多远)[个名家位项次间套张条座所支台辆元亩米户批期版届种]?"
)
_FOCUS_BEFORE = re.compile(r"(?:是|为|有|叫)(?:多少|谁|什么|哪)|多少钱")


def asked_focus(question: str) -> str | None:
    """The word for what ``question`` asks about: "客房" in "往来酒店有多少间客房？", "院长" in
    "研究院的院长是谁？", or None. An answer that rests on a sentence without it answers
    something else (2734 flats for a question about hotel rooms)."""
    for clause in CLAUSE_END.split(question):
        match = _FOCUS_AFTER.search(clause)
        if match:
            after = [w for w in _words(clause[match.end() :]) if not QUESTION_WORD.search(w)]
            if after and len(after[0]) >= 2:
                return after[0]
        match = _FOCUS_BEFORE.search(clause)
        if match:
            before = _words(clause[: match.start()])
            if before and len(before[-1]) >= 2:
                return before[-1]
    return None


def asked_title(question: str) -> str | None:
    """The post whose holder ``question`` asks for ("团长" in "代表团团长是谁？"), or None
    when it asks for someone by what they did ("谁出席了仪式？")."""
    candidates = []
    for clause in CLAUSE_END.split(question):
        for match in _TITLE_BEFORE.finditer(clause):
            candidates.extend(_words(clause[: match.start()])[-1:])
        for match in _TITLE_AFTER.finditer(clause):
            candidates.extend(_words(clause[match.end() :])[-1:])
    for word in candidates:
        if len(word) >= 2 and word.endswith(_TITLE_ENDINGS):
            return word
    return None


def names_title(word: str, text: str) -> bool:
    """Does ``text`` name ``word`` (a post, or what a question asks about) at all? Its first
    or last two characters are enough ("部长" for "外交部长", "经理" for "副总经理", "主持" for
    "主持人")."""
    return word[:2] in text or word[-2:] in text


# The unit a "how many" question counts in, and the units an answer may print for it: "多少位
# 老人" is answered by "位/名/人", not by "162个站点"; "花了多少钱" by an amount of 元.
_UNIT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("位", "名", "人"),
    ("元", "块"),
    ("平方米", "平米", "平方公里", "亩", "公顷"),
    ("公里", "千米", "米"),
    ("小时", "分钟", "天", "日", "周", "个月", "年"),
    ("岁",),
)


def unit_group(unit: str) -> tuple[str, ...]:
    """The units interchangeable with ``unit`` ("位/名/人" for "名"), or ``unit`` alone."""
    return next((group for group in _UNIT_GROUPS if unit in group), (unit,))


_ASKED_UNIT = re.compile(
    r"(?:多少|几)\s*(平方米|平方公里|公里|千米|小时|分钟|个月|周岁|万元|亿元|"
    r"[个名家位项次间套张条座所支台辆元亩米户批期版届种人岁天倍层栋件场篇吨只架艘])"
)
_ASKED_UNIT_WORDS = (
    (re.compile(r"多少钱|金额|花了多少|投资多少|多少资金"), ("元", "块")),
    (re.compile(r"多大年纪|年龄"), ("岁",)),
    (re.compile(r"多久|多长时间"), _UNIT_GROUPS[4]),
    (re.compile(r"面积|多大"), _UNIT_GROUPS[2]),
    (re.compile(r"多远|多长|多高|距离|射程|长度"), _UNIT_GROUPS[3]),
)
_NUMBER_HEAD = r"(?:\d+(?:\.\d+)?|[一二三四五六七八九十百千万两]+)\s*[万亿千百余多]*\s*"
_TIME_OF_DAY = re.compile(r"\d+(?:\.\d+)?\s*(?:年|月|日|号|时|点|:|：|-)")


def asked_units(question: str) -> tuple[str, ...]:
    """The units an answer to a "how many / how much" ``question`` counts in ("位/名/人" for
    "多少位老人"), or () when it asks for none."""
    match = _ASKED_UNIT.search(question)
    if match:
        unit = match.group(1).removeprefix("万").removeprefix("亿").removeprefix("周")
        return unit_group(unit)
    return next((units for pattern, units in _ASKED_UNIT_WORDS if pattern.search(question)), ())


def counted_pattern(question: str) -> re.Pattern[str] | None:
    """What a sentence answering a "how many" ``question`` prints: a number in the asked
    unit, or (no unit asked) a number that is not a date or a time of day (nor the minutes
    of one: "16:31" in a dateline)."""
    units = asked_units(question)
    if units:
        return re.compile(_NUMBER_HEAD + "(?:" + "|".join(units) + ")")
    if asks_quantity(question):
        return re.compile(r"(?<![\d.:：/-])\d+(?:\.\d+)?(?!\s*(?:年|月|日|号|时|点|:|：|-|/|\d))")
    return None


def prints_count(texts: list[str], question: str) -> bool:
    """Does one of ``texts`` print a number in the unit the question asks for?"""
    pattern = counted_pattern(question)
    return pattern is not None and any(pattern.search(text) for text in texts)


_NUMERAL = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
_TAIL_CHARS = 3
_WINDOW_CHARS = 10


def relabelled_numbers(claims: list[str], passages: str, question: str) -> bool:
    """Does a claim give a number the passages print, but about something else? "红星联盟
    有1031名成员" where the passage says "1031家民营企业": the number is copied, the thing
    counted is not. A number the passages never print is not judged here."""
    asked = set(_NUMERAL.findall(question))
    for claim in claims:
        for match in _NUMERAL.finditer(claim):
            number = match.group()
            if number in asked:
                continue
            tail = _tail(claim, match.end())
            if not tail or tail[0] in "年月日号" or (len(tail) < 2 and tail not in _MEASURES):
                continue
            windows = [
                passages[m.end() : m.end() + _WINDOW_CHARS]
                for m in re.finditer(rf"(?<![\d.]){re.escape(number)}(?![\d.])", passages)
            ]
            if len(tail) == 1:  # a bare unit: "16947分" where "16947个组合" is printed
                same = unit_group(tail)
                if windows and not any(w[:1] in same for w in windows):
                    return True
            elif windows and not any(tail in w or tail[1:] in w for w in windows):
                return True
    return False


# Units of measure a bare number may carry ("分", "岁", "元"); counting words ("个", "项",
# "处") are left out, since a model may fairly write "12个" for "12处".
_MEASURES = {unit for group in _UNIT_GROUPS for unit in group if len(unit) == 1} | set("分倍吨度%")


def _tail(text: str, end: int) -> str:
    """The few characters after a number, up to punctuation ("名成员" in "1031名成员。")."""
    tail = ""
    for ch in text[end:]:
        if len(tail) == _TAIL_CHARS or not ch.isalnum():
            break
        tail += ch
    return tail
