from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from index.errors import ArchiveQAError
from index.ingest import ingest
from index.store import MANIFEST, SCHEMA_VERSION, IndexData, load_index, save_index
from qa.settings import Settings
from tests.conftest import DATA, SEEDS

FAKE = DeterministicFakeEmbedding(size=16)


def test_ingest_then_load_round_trip(settings: Settings) -> None:
    report = ingest([SEEDS], settings.index_options(), FAKE, progress=False)
    assert len(report.issues) == 5 and not report.skipped
    data = load_index(settings.index_dir)
    assert set(data.issues) == {p.name for p in SEEDS.glob("*.txt")}
    assert data.article_count == report.article_count
    manifest = json.loads((settings.index_dir / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["counts"] == {
        "sources": 5,
        "articles": report.article_count,
        "passages": len(data.passages),
    }
    assert manifest["embedding"] == {"model": "DeterministicFakeEmbedding", "dimension": 16}
    assert data.vectors.shape == (len(data.passages), 16) == (data.faiss_index.ntotal, 16)
    assert len(data.tokens) == len(data.passages)


def test_reingest_replaces_instead_of_duplicating(settings: Settings, tmp_path: Path) -> None:
    ingest([SEEDS], settings.index_options(), FAKE, progress=False)
    before = load_index(settings.index_dir).article_count
    ingest([SEEDS / "000_5f1999aa854af018.txt"], settings.index_options(), FAKE, progress=False)
    after = load_index(settings.index_dir)
    assert after.article_count == before
    assert len(list(settings.index_dir.glob("gen-*"))) == 1  # old generations cleaned up


def test_rebuild_starts_over(settings: Settings) -> None:
    ingest([SEEDS], settings.index_options(), FAKE, progress=False)
    ingest(
        [DATA / "sample_issue.txt"], settings.index_options(), FAKE, rebuild=True, progress=False
    )
    assert set(load_index(settings.index_dir).issues) == {"sample_issue.txt"}


def test_crash_while_writing_leaves_previous_index_loadable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest([SEEDS], settings.index_options(), FAKE, progress=False)
    before = load_index(settings.index_dir)

    real_replace = os.replace

    def crash_on_manifest(src, dst):  # the data folder moves in, then the manifest write dies
        if str(dst).endswith(MANIFEST):
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_manifest)
    with pytest.raises(OSError):
        ingest([DATA / "sample_issue.txt"], settings.index_options(), FAKE, progress=False)
    monkeypatch.undo()
    after = load_index(settings.index_dir)
    assert set(after.issues) == set(before.issues)
    assert not list(settings.index_dir.glob(".manifest.json.*"))  # no temp file left behind
    # and the next write still works
    ingest([DATA / "sample_issue.txt"], settings.index_options(), FAKE, progress=False)
    assert "sample_issue.txt" in load_index(settings.index_dir).issues


def test_corrupt_manifest_is_a_clear_error(settings: Settings) -> None:
    settings.index_dir.mkdir(parents=True)
    (settings.index_dir / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(ArchiveQAError, match="rebuild"):
        load_index(settings.index_dir)


def test_other_schema_version_is_a_clear_error(settings: Settings) -> None:
    save_index(settings.index_dir, IndexData())
    manifest_path = settings.index_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["schema_version"] = SCHEMA_VERSION + 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ArchiveQAError, match="格式版本"):
        load_index(settings.index_dir)


def test_missing_data_files_are_a_clear_error(settings: Settings) -> None:
    ingest([SEEDS], settings.index_options(), FAKE, progress=False)
    for generation in settings.index_dir.glob("gen-*"):
        (generation / "passages.jsonl").unlink()
    with pytest.raises(ArchiveQAError, match=r"缺失：passages.jsonl.*check --repair"):
        load_index(settings.index_dir)


def test_an_altered_vector_file_is_refused(settings: Settings) -> None:
    """FAISS reads altered vectors without complaint; the manifest's checksums do not."""
    ingest([SEEDS], settings.index_options(), FAKE, progress=False)
    (vectors,) = settings.index_dir.glob("gen-*/vectors.faiss")
    data = bytearray(vectors.read_bytes())
    data[-100] ^= 0xFF
    vectors.write_bytes(bytes(data))
    with pytest.raises(ArchiveQAError, match=r"vectors\.faiss"):
        load_index(settings.index_dir)


def test_absent_index_is_empty(settings: Settings) -> None:
    assert load_index(settings.index_dir).issues == {}


def test_reingest_and_rebuild_reuse_vectors(settings: Settings) -> None:
    first = ingest([SEEDS], settings.index_options(), FAKE, progress=False)
    assert first.embedded == first.passage_count > 0
    again = ingest(
        [SEEDS / "003_e8fc69560c1c029f.txt"], settings.index_options(), FAKE, progress=False
    )
    assert again.embedded == 0  # same text, same model: vectors come from the index
    rebuilt = ingest([SEEDS], settings.index_options(), FAKE, rebuild=True, progress=False)
    assert rebuilt.embedded == 0
    assert len(load_index(settings.index_dir).passages) == first.passage_count


def test_other_embedding_model_is_refused(settings: Settings) -> None:
    ingest([SEEDS / "003_e8fc69560c1c029f.txt"], settings.index_options(), FAKE, progress=False)

    class OtherModel(DeterministicFakeEmbedding):
        pass

    with pytest.raises(ArchiveQAError, match="嵌入模型"):
        ingest(
            [SEEDS / "000_5f1999aa854af018.txt"],
            settings.index_options(),
            OtherModel(size=16),
            progress=False,
        )
    # a rebuild with the new model is the fix
    ingest(
        [SEEDS / "000_5f1999aa854af018.txt"],
        settings.index_options(),
        OtherModel(size=16),
        rebuild=True,
        progress=False,
    )
    assert load_index(settings.index_dir).embedding_model == "OtherModel"
