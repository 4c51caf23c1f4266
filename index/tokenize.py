"""Tokens for BM25: jieba words (search mode) plus Chinese character bigrams.

jieba alone misses words it segments differently in question and passage ("揭牌仪式" vs
"揭牌"); the bigrams catch those, the words keep whole-word matches strong. Measured on
CRUD-3k, BM25 MRR@10 0.820 → 0.863 (README, "Retrieval"). Index and query go through the same
function so that their tokens meet.
"""

from __future__ import annotations

import logging
import re
import unicodedata

import jieba

jieba.setLogLevel(logging.WARNING)

_WORD = re.compile(r"[\w\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
# Function words and question words: frequent in questions ("哪些", "多少"), empty of topic.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "等",
        "也",
        "都",
        "就",
        "而",
        "对",
        "为",
        "以",
        "于",
        "上",
        "下",
        "中",
        "把",
        "被",
        "从",
        "向",
        "由",
        "将",
        "并",
        "或",
        "其",
        "之",
        "这",
        "那",
        "有",
        "个",
        "我",
        "你",
        "他",
        "她",
        "它",
        "我们",
        "你们",
        "他们",
        "什么",
        "哪些",
        "哪个",
        "哪家",
        "哪里",
        "哪",
        "多少",
        "几",
        "怎么",
        "怎样",
        "如何",
        "为什么",
        "谁",
        "是否",
        "吗",
        "呢",
        "吧",
        "啊",
        "请问",
        "一下",
        "分别",
        "主要",
        "情况",
        "有关",
        "关于",
        "一个",
        "这个",
        "那个",
        "时候",
        "现在",
        "当时",
        "可以",
        "能",
        "会",
        "要",
        "还",
        "又",
        "再",
        "没有",
        "不",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lower-cased jieba search-mode words (no punctuation, spaces, stopwords), then the
    character bigrams of every run of Chinese characters."""
    text = unicodedata.normalize("NFKC", text).lower()
    words = [
        token
        for token in jieba.cut_for_search(text)
        if _WORD.search(token) and token.strip() and token not in STOPWORDS
    ]
    bigrams = [run[i : i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]
    return words + bigrams
