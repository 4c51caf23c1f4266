"""The Chatchat-style reference pipeline of `archive-qa eval --reference`: raw 250/50
chunks at Chinese separators, weighted reciprocal rank fusion, Chatchat's prompt."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

from langchain_core.messages import AIMessage

from qa.reference import (
    CHUNK_SIZE,
    ReferencePipeline,
    chatchat_chunks,
    chunk_vectors,
    read_sources,
    weighted_rrf,
)
from qa.settings import Settings
from tests.conftest import SEEDS
from tests.test_answer import FAKE, RecordingModel


def test_chunks_are_raw_250_50_pieces_cut_after_sentence_ends() -> None:
    text = "".join(f"第{n}句话讲的是社区食堂和养老服务的事情。" for n in range(60))
    chunks = chatchat_chunks({"a.txt": text})
    assert len(chunks) > 5
    assert all(len(c.text) <= CHUNK_SIZE for c in chunks)
    assert all(c.text.endswith("。") for c in chunks)  # the separator stays with its sentence
    for left, right in pairwise(chunks):  # 50 characters of overlap
        assert right.text.split("。")[0] in left.text


def test_weighted_rrf_prefers_what_both_rankings_hold() -> None:
    assert weighted_rrf([[1, 2, 3], [3, 4, 5]], (0.5, 0.5))[0] == 3
    assert weighted_rrf([[1, 2], [2, 1]], (0.9, 0.1))[0] == 1


def test_sources_are_read_raw_from_a_folder_or_a_jsonl_corpus(tmp_path: Path) -> None:
    (tmp_path / "gbk.txt").write_bytes("拱墅区社区食堂开业，每天供应午餐。".encode("gbk"))
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01")
    assert read_sources(tmp_path, Settings()) == {"gbk.txt": "拱墅区社区食堂开业，每天供应午餐。"}
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text(
        json.dumps({"id": "d1", "text": "正文"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    assert read_sources(corpus, Settings()) == {"d1": "正文"}


def test_the_pipeline_puts_three_chunks_in_chatchats_prompt_and_reads_its_refusal() -> None:
    model = RecordingModel(
        messages=iter([AIMessage(content="根据已知信息无法回答该问题")]), seen=[]
    )
    pipeline = ReferencePipeline(chatchat_chunks(read_sources(SEEDS, Settings())), FAKE, model)
    answer = pipeline.ask("瓜山未来社区民宿组团一期建成开放的是哪家酒店？")
    assert answer.refused and answer.backend == "reference"
    assert len(answer.passages) == 3
    assert any("瓜山" in p["text"] for p in answer.passages)  # jieba BM25 finds the words
    prompt = str(model.seen[0][-1].content)
    assert len(model.seen[0]) == 1  # one user message, no system message, as Chatchat sends
    assert prompt.startswith("【指令】") and "【已知信息】" in prompt and "【问题】" in prompt
    assert all(p["text"] in prompt for p in answer.passages)
    assert answer.timings["total_s"] >= answer.timings["generate_s"]


def test_chunk_vectors_are_embedded_once_and_read_back(tmp_path: Path) -> None:
    class CountingEmbedding(type(FAKE)):
        calls: int = 0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            self.calls += 1
            return super().embed_documents(texts)

    chunks = chatchat_chunks({"a.txt": "拱墅区社区食堂开业。每天供应午餐。"})
    embeddings = CountingEmbedding(size=16)
    first = chunk_vectors(chunks, embeddings, tmp_path)
    again = chunk_vectors(chunks, embeddings, tmp_path)
    assert embeddings.calls == 1 and (first == again).all()
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    other = chatchat_chunks({"a.txt": "另一份报纸。"})
    chunk_vectors(other, embeddings, tmp_path)  # other texts: another key
    assert embeddings.calls == 2
