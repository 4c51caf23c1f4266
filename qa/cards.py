"""HTML for the chat: an answer with clickable ``[n]`` markers, and its source cards.

Every piece of user or archive text goes through `html.escape`, so nothing in an uploaded
file or a question can add markup or script to the page. The HTML is kept on one line per
block: the chat renders Markdown, where blank lines would end an HTML block.
"""

from __future__ import annotations

from html import escape
from typing import Any

from qa.answer import Answer, Citation
from qa.citations import split_end

CITE_ANCHOR = "aq-src"


def _text(value: str) -> str:
    return escape(value).replace("\n", "<br>")


def _highlight(text: str, start: int, end: int) -> str:
    """``text`` escaped, with ``text[start:end]`` in <mark>."""
    if not 0 <= start < end <= len(text):
        return _text(text)
    return _text(text[:start]) + "<mark>" + _text(text[start:end]) + "</mark>" + _text(text[end:])


def _highlight_quote(text: str, quote: str) -> str:
    start = text.find(quote.strip()) if quote.strip() else -1
    return _highlight(text, start, start + len(quote.strip())) if start >= 0 else _text(text)


def anchor(turn: str, number: int) -> str:
    return f"{CITE_ANCHOR}-{turn}-{number}"


def _marker(turn: str, number: int) -> str:
    target = anchor(turn, number)
    return f'<a class="aq-cite" href="#{target}" data-target="{target}">[{number}]</a>'


def _copy_button(label: str, extra_class: str = "") -> str:
    """A button that copies the citation of its card, or (``aq-copy-all``) of every card of
    its answer. The chat's sanitiser drops data attributes, so the text to copy is a hidden
    element of the card (`_reference`) that static/app.js reads."""
    classes = f"aq-copy {extra_class}".strip()
    return f'<button type="button" class="{classes}" title="复制到剪贴板">{label}</button>'


def _reference(citation: Citation) -> str:
    return f'<span class="aq-ref">{_text(citation.reference)}</span>'


def render_pending(
    text: str = "", reading: list[dict[str, Any]] | None = None, queued: str | None = None
) -> str:
    """An answer not finished yet: the words written so far (markers not checked yet), or
    its place in the queue, or "正在生成回答…"; below, the passages the model reads
    (``reading``: the numbered passage dicts of `AnswerEvent` "sources")."""
    if text:
        head = f"{_text(text)}▌"
    elif queued:
        head = f'<div class="aq-queued">{_text(queued)}</div>'
    elif reading:
        head = '<div class="aq-generating">正在生成回答…</div>'
    else:
        head = "▌"
    if not reading:
        return f'<div class="aq-answer aq-pending">{head}</div>'
    cards = "".join(_render_reading_card(p) for p in reading)
    return (
        f'<div class="aq-answer aq-pending">{head}'
        '<div class="aq-sources aq-reading"><div class="aq-sources-title">'
        f"正在阅读的资料（{len(reading)} 段）</div>{cards}</div></div>"
    )


def _render_reading_card(passage: dict[str, Any]) -> str:
    return (
        '<div class="aq-card aq-card-reading">'
        f'<div class="aq-card-label"><b>[{passage["number"]}]</b> {_text(passage["label"])}</div>'
        f'<div class="aq-card-text">{_text(passage["excerpt"])}</div></div>'
    )


def render_answer(answer: Answer, turn: str, article_of: Any = None) -> str:
    """The finished answer, with its notices, the standalone question and source cards.

    ``article_of(article_id)`` returns the article dict for "查看全文" (None to leave it out).
    """
    parts = ['<div class="aq-answer">']
    if answer.standalone_question != answer.question:
        parts.append(
            f'<div class="aq-standalone">理解为：{_text(answer.standalone_question)}</div>'
        )
    parts.extend(f'<div class="aq-notice">提示：{_text(n)}</div>' for n in answer.notices)
    if answer.refused:
        parts.append(_render_refusal(answer))
    else:
        parts.append(f'<div class="aq-text">{_render_sentences(answer, turn)}</div>')
        if answer.citations:
            parts.append('<div class="aq-sources"><div class="aq-sources-title">出处</div>')
            parts.extend(_render_card(c, turn, article_of) for c in answer.citations)
            parts.append(_copy_button("复制全部出处", "aq-copy-all"))
            parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def _render_sentences(answer: Answer, turn: str) -> str:
    pieces = []
    for sentence in answer.sentences:
        body, end, space = split_end(sentence.text)
        marks = "".join(_marker(turn, n) for n in sentence.cited)
        html = _text(body) + marks + _text(end)
        if body.strip() and not sentence.supported:
            html = f'<span class="aq-unsupported" title="这句话未能在所引资料中核实">{html}</span>'
        pieces.append(html + _text(space))
    return "".join(pieces).strip()


def _render_refusal(answer: Answer) -> str:
    lines = answer.text.split("\n")
    html = f'<div class="aq-refusal"><b>{_text(lines[0])}</b>'
    if answer.leads:
        html += f"<div>{_text(lines[1]) if len(lines) > 1 else ''}</div><ul>"
        html += "".join(f"<li>{_text(lead)}</li>" for lead in answer.leads)
        html += "</ul>"
    return html + "</div>"


def _render_card(citation: Citation, turn: str, article_of: Any) -> str:
    passage = citation.passage
    html = (
        f'<div class="aq-card" id="{anchor(turn, citation.number)}">'
        f'<div class="aq-card-label"><b>[{citation.number}]</b> {_text(citation.label)}'
        f"{_copy_button('复制出处')}{_reference(citation)}</div>"
        f'<div class="aq-card-text">{_highlight_quote(passage["text"], citation.quote)}</div>'
    )
    article = article_of(passage["article_id"]) if article_of else None
    if article:
        start, end = passage.get("span", (0, 0))
        html += (
            '<details class="aq-article"><summary>查看全文</summary>'
            f'<div class="aq-article-title">{_text(article["title"])}</div>'
            f'<div class="aq-article-text">{_highlight(article["text"], start, end)}</div>'
            "</details>"
        )
    return html + "</div>"
