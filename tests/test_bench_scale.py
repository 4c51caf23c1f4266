"""The scale run's data: N passages from a small index, distinct but near their originals."""

from __future__ import annotations

import numpy as np
from langchain_core.embeddings import DeterministicFakeEmbedding

from index.ingest import ingest
from index.store import load_index
from qa.bench_scale import PAPERS, scaled_update
from qa.settings import Settings
from tests.conftest import DATA


def test_scaled_update_repeats_passages_as_distinct_sources(tmp_path) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    ingest(
        [DATA / "sample_issue.txt"],
        settings.index_options(),
        DeterministicFakeEmbedding(size=8),
        progress=False,
    )
    base = load_index(settings.index_dir)
    base.vectors = base.vectors / np.linalg.norm(base.vectors, axis=1, keepdims=True)
    size = 2 * len(base.passages) + 3
    update = scaled_update(base, size)
    assert len(update.passages) == len(update.tokens) == len(update.vectors) == size
    assert len({p.id for p in update.passages}) == size
    assert {p.source_file for p in update.passages} == set(update.issues)
    assert {p.paper for p in update.passages} == set(PAPERS[:3])
    copy = update.passages[len(base.passages)]
    assert copy.text == base.passages[0].text and copy.date[:4] == str(
        int(base.passages[0].date[:4]) - 1
    )
    near = float(update.vectors[len(base.passages)] @ base.vectors[0])
    assert 0.99 < near < 1.0
    assert np.allclose(np.linalg.norm(update.vectors, axis=1), 1.0, atol=1e-5)
