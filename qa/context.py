"""What the model reads: the sentences of the retrieved passages that bear on the question.

On two CPU cores the local model reads about 50 tokens a second, so every passage character
costs answer time. Each passage keeps its best sentence (by IDF-weighted question-word
coverage), then the best remaining sentences fill a character budget; sentences keep their
printed order inside a passage.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

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


def select_context(
    hits: list[Hit], weights: dict[str, float], budget_chars: int
) -> list[ContextPassage]:
    """The passages (rank order) with the sentences that fit ``budget_chars``."""
    sentences: list[list[str]] = [
        [s for s, _ in split_sentences(hit.passage.text) if s.strip()] for hit in hits
    ]
    scored = [
        (weighted_coverage(sentence, weights), rank, position)
        for rank, group in enumerate(sentences)
        for position, sentence in enumerate(group)
    ]
    best_first = sorted(scored, key=lambda item: (-item[0], item[1], item[2]))
    kept: set[tuple[int, int]] = set()
    used = 0

    def take(rank: int, position: int) -> None:
        nonlocal used
        length = len(sentences[rank][position])
        if (rank, position) not in kept and used + length <= budget_chars:
            kept.add((rank, position))
            used += length

    for rank in range(len(hits)):  # every passage's best sentence first
        candidates = [item for item in best_first if item[1] == rank]
        if candidates:
            take(rank, candidates[0][2])
    for _, rank, position in best_first:
        take(rank, position)
    context = []
    for rank, hit in enumerate(hits):
        positions = sorted(p for r, p in kept if r == rank)
        if not positions:
            continue
        pieces = [sentences[rank][positions[0]]]
        for before, position in itertools.pairwise(positions):
            pieces.append(("" if position == before + 1 else GAP) + sentences[rank][position])
        excerpt = "".join(pieces).strip()
        if positions[0] > 0:
            excerpt = GAP + excerpt
        context.append(ContextPassage(hit, excerpt))
    return context
