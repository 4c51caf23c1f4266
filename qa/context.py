"""What the model reads: the sentences of the retrieved passages that bear on the question.

On two CPU cores the local model reads about 50 tokens a second, so every passage character
costs answer time. Sentences are picked greedily by how much of the question they cover that
the sentences already picked do not (IDF-weighted; a word already covered counts
``repeat_weight`` as much again). A two-part question so gets a sentence for each part, and
the sentence that names the entity does not crowd out the one that holds the answer. Picking
stops when the budget is full or no sentence adds anything; sentences keep their printed
order inside a passage. Measured in the README ("Answers").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

from index.chunk import Passage
from index.tokenize import tokenize
from qa.citations import split_sentences
from qa.retrieve import Hit

GAP = "……"


def weighted_coverage(text: str, weights: dict[str, float]) -> float:
    """IDF-weighted share of the question's tokens that occur in ``text`` (0..1)."""
    total = sum(weights.values())
    if not total:
        return 0.0
    present = set(tokenize(text))
    return sum(weight for token, weight in weights.items() if token in present) / total


@dataclass
class ContextPassage:
    hit: Hit
    excerpt: str  # the kept sentences, in printed order, "……" where some were left out


def article_candidates(
    hits: list[Hit],
    article_passages: Callable[[str], list[Passage]],
    max_articles: int,
    rank_penalty: float,
    sibling_penalty: float,
) -> tuple[list[Hit], list[float]]:
    """Every passage of the articles the best ``hits`` come from (at most ``max_articles``,
    in rank order; each in printed order), with the coverage its sentences lose: per
    article rank, and more for a passage retrieval did not return. Passages rank, articles
    answer: the sentence with the answer is often in another passage of the right article.
    A masthead passage stays on its own."""
    retrieved = {hit.passage.id for hit in hits}
    best: dict[str, Hit] = {}
    for hit in hits:
        best.setdefault(hit.passage.article_id, hit)
    candidates: list[Hit] = []
    penalties: list[float] = []
    for rank, (article_id, hit) in enumerate(list(best.items())[:max_articles]):
        siblings = article_passages(article_id)
        if hit.passage.kind != "article" or not siblings:
            siblings = [hit.passage]
        for passage in siblings:
            candidates.append(
                hit if passage.id == hit.passage.id else replace(hit, passage=passage)
            )
            penalties.append(
                rank_penalty * rank + (0.0 if passage.id in retrieved else sibling_penalty)
            )
    return candidates, penalties


def _sentences(hits: list[Hit]) -> list[list[str]]:
    """The sentences of each passage; a sentence already seen in an earlier passage of the
    same article (passages overlap) is left out."""
    seen: dict[str, list[str]] = {}
    groups = []
    for hit in hits:
        earlier = seen.setdefault(hit.passage.article_id, [])
        group = [
            s
            for s, _ in split_sentences(hit.passage.text)
            if s.strip() and not any(s.strip() in other for other in earlier)
        ]
        earlier.extend(group)
        groups.append(group)
    return groups


def select_context(
    hits: list[Hit],
    weight_sets: list[dict[str, float]],
    budget_chars: int,
    repeat_weight: float = 0.3,
    rank_penalty: float = 0.02,
    penalties: list[float] | None = None,
) -> list[ContextPassage]:
    """The passages (in the order given) with the sentences that fit the budget.

    One greedy pick per weight set (one per question part, qa/parts.py), each with its own
    ``budget_chars``; a sentence picked for an earlier part is already covered for the next.
    Each passage's sentences lose ``penalties[i]`` coverage (default: ``rank_penalty`` per
    rank), which prefers the better-ranked passage between sentences that add about as much.
    """
    sentences = _sentences(hits)
    penalties = penalties or [rank_penalty * rank for rank in range(len(hits))]
    keys = [
        (index, position) for index, group in enumerate(sentences) for position in range(len(group))
    ]
    kept: set[tuple[int, int]] = set()
    for weights in weight_sets:
        _pick(sentences, keys, weights, budget_chars, repeat_weight, penalties, kept)
    if not kept:  # no question word in any sentence (another language): the top passage
        used = 0
        for position, sentence in enumerate(sentences[0] if sentences else []):
            if used + len(sentence) > budget_chars:
                break
            kept.add((0, position))
            used += len(sentence)
    return [
        ContextPassage(hit, _excerpt(sentences[rank], sorted(p for r, p in kept if r == rank)))
        for rank, hit in enumerate(hits)
        if any(r == rank for r, _ in kept)
    ]


def _pick(
    sentences: list[list[str]],
    keys: list[tuple[int, int]],
    weights: dict[str, float],
    budget_chars: int,
    repeat_weight: float,
    penalties: list[float],
    kept: set[tuple[int, int]],
) -> None:
    """Add to ``kept`` the sentences that cover most of ``weights``' words, greedily."""
    question_words = {
        key: set(tokenize(sentences[key[0]][key[1]])) & weights.keys() for key in keys
    }
    total = sum(weights.values()) or 1.0
    times_covered = dict.fromkeys(weights, 0)
    for key in kept:  # what earlier parts picked is already in front of the model
        for word in question_words[key]:
            times_covered[word] += 1
    used = 0

    def gain(key: tuple[int, int]) -> float:
        added = sum(weights[w] * repeat_weight ** times_covered[w] for w in question_words[key])
        return added / total - penalties[key[0]]

    while True:
        candidates = [
            key
            for key in keys
            if key not in kept and used + len(sentences[key[0]][key[1]]) <= budget_chars
        ]
        if not candidates:
            return
        best = max(candidates, key=gain)  # ties: the earlier passage and sentence
        if gain(best) <= 0:
            return
        kept.add(best)
        used += len(sentences[best[0]][best[1]])
        for word in question_words[best]:
            times_covered[word] += 1


def _excerpt(sentences: list[str], positions: list[int]) -> str:
    """The sentences at ``positions`` in printed order, "……" marking what was left out."""
    pieces = [sentences[positions[0]]]
    for before, position in itertools.pairwise(positions):
        pieces.append(("" if position == before + 1 else GAP) + sentences[position])
    excerpt = "".join(pieces).strip()
    return GAP + excerpt if positions[0] > 0 else excerpt


def passage_context(
    hits: list[Hit],
    article_passages: Callable[[str], list[Passage]],
    budget_chars: int,
    max_articles: int,
    continuation_chars: int = 0,
) -> list[ContextPassage]:
    """Whole passages in reading order, as a plain pipeline reads its chunks but cleaner:
    the retrieved passages in rank order while they fit ``budget_chars`` (at most
    ``max_articles`` articles), then the passages next to them in their articles (the
    answer often goes on in the next passage), nearest first. Each article's passages are
    given in printed order with the text a passage shares with the one before it left out,
    so an article reads as one contiguous text cut into numbered pieces. A passage of an
    article already read may fill the context up to ``continuation_chars`` when that is
    larger: more of the asked article, without a neighbour's figures."""
    chosen: dict[str, dict[str, Hit]] = {}  # article → passage id → hit, in rank order
    used = 0

    def add(hit: Hit) -> bool:
        nonlocal used
        article = chosen.get(hit.passage.article_id)
        if article is None and len(chosen) >= max_articles:
            return False
        if article is not None and hit.passage.id in article:
            return True
        cost = len(_new_text(hit.passage, [h.passage for h in (article or {}).values()]))
        limit = budget_chars if article is None else max(budget_chars, continuation_chars)
        if used + cost > limit:
            return False
        chosen.setdefault(hit.passage.article_id, {})[hit.passage.id] = hit
        used += cost
        return True

    for hit in hits:
        add(hit)
    if not chosen and hits:  # a first passage longer than the budget: read it anyway
        chosen[hits[0].passage.article_id] = {hits[0].passage.id: hits[0]}
    best = {article_id: next(iter(kept.values())) for article_id, kept in chosen.items()}
    siblings = {  # each article's passages in printed order, fetched once
        article_id: sorted(article_passages(article_id), key=lambda p: p.span[0])
        for article_id, hit in best.items()
        if hit.passage.kind == "article"
    }
    for ring in range(1, 4):  # neighbours, nearest first, best article first
        for article_id, printed in siblings.items():
            kept = chosen[article_id]
            positions = [i for i, p in enumerate(printed) if p.id in kept]
            for position in sorted({p + d for p in positions for d in (ring, -ring)}):
                if 0 <= position < len(printed) and printed[position].id not in kept:
                    add(replace(best[article_id], passage=printed[position]))
    context = []
    for kept in chosen.values():
        ordered = sorted(kept.values(), key=lambda h: h.passage.span[0])
        for index, hit in enumerate(ordered):
            text = _new_text(hit.passage, [h.passage for h in ordered[:index]])
            previous = ordered[index - 1].passage if index else None
            joined = previous is not None and previous.span[1] >= hit.passage.span[0]
            starts_article = hit.passage.span[0] == 0
            excerpt = text.strip() if joined or starts_article else GAP + text.strip()
            if text.strip():
                context.append(ContextPassage(hit, excerpt))
    return context


def _new_text(passage: Passage, earlier: list[Passage]) -> str:
    """The part of ``passage`` not already in an earlier passage of its article (passages
    overlap by the splitter's overlap)."""
    start, end = passage.span
    covered_to = start
    for other in sorted(earlier, key=lambda p: p.span[0]):
        if other.span[0] <= covered_to < other.span[1]:
            covered_to = max(covered_to, other.span[1])
    return passage.text[min(covered_to - start, len(passage.text)) :] if covered_to < end else ""
