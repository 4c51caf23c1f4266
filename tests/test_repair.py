"""`archive-qa check --repair` (index/repair.py): each kind of damaged index is restored
with every source it still holds; a sound index is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from index.errors import ArchiveQAError
from index.ingest import ingest
from index.repair import repair_index
from index.store import ISSUES_FILE, load_index
from qa.reliability.corrupt import DAMAGES, generation
from qa.settings import Settings
from tests.conftest import SEEDS
from tests.fake_models import NamedFakeEmbedding

FAKE = DeterministicFakeEmbedding(size=16)
ALL = sorted(p.name for p in SEEDS.glob("*.txt"))


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_index_is_restored_with_all_its_sources(settings: Settings, damage: str) -> None:
    ingest([SEEDS], settings.index_options(), FAKE, progress=False)
    articles = load_index(settings.index_dir).article_count
    DAMAGES[damage](settings.index_dir)
    with pytest.raises(ArchiveQAError, match=r"check --repair"):
        data = load_index(settings.index_dir)
        data.check_model("DeterministicFakeEmbedding")
    report = repair_index(settings.index_options(), FAKE)
    assert report.problem and report.sources == ALL and not report.lost
    repaired = load_index(settings.index_dir)
    assert sorted(repaired.issues) == ALL and repaired.article_count == articles
    assert len(list(settings.index_dir.glob("gen-*"))) == 1


def test_a_cut_issue_line_is_read_again_from_its_file(settings: Settings, tmp_path: Path) -> None:
    ingest([SEEDS], settings.index_options(), FAKE, progress=False)
    issues = generation(settings.index_dir) / ISSUES_FILE
    lines = issues.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0][: len(lines[0]) // 2]  # still names its "path"
    issues.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = repair_index(settings.index_options(), FAKE)
    assert len(report.reparsed) == 1
    assert report.sources == ALL and not report.lost


def test_a_source_whose_file_is_gone_too_is_named_as_lost(
    settings: Settings, tmp_path: Path
) -> None:
    copy = tmp_path / "only-copy.txt"
    copy.write_bytes((SEEDS / ALL[0]).read_bytes())
    ingest([SEEDS, copy], settings.index_options(), FAKE, progress=False)
    copy.unlink()
    issues = generation(settings.index_dir) / ISSUES_FILE
    kept = [
        line for line in issues.read_text(encoding="utf-8").splitlines() if copy.name not in line
    ]
    issues.write_text("\n".join(kept) + "\n", encoding="utf-8")
    report = repair_index(settings.index_options(), FAKE)
    assert report.lost == [copy.name] and report.sources == ALL


def test_a_sound_index_is_left_alone(settings: Settings) -> None:
    ingest([SEEDS], settings.index_options(), FAKE, progress=False)
    before = generation(settings.index_dir).name
    report = repair_index(settings.index_options(), FAKE)
    assert report.problem is None and report.sources == ALL
    assert generation(settings.index_dir).name == before


def test_the_app_starts_on_a_broken_index_says_why_and_recovers_after_repair(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa.service

    named = NamedFakeEmbedding(size=16)
    monkeypatch.setattr(qa.service, "load_embeddings", lambda _settings: named)
    settings = settings.model_copy(update={"llm": "none"})
    ingest([SEEDS], settings.index_options(), named, progress=False)
    DAMAGES["向量文件被改动一个字节"](settings.index_dir)
    service = qa.service.open_service(settings, background=True)
    status = service.status()
    assert status.startswith("索引不可用：") and "check --repair" in status
    with pytest.raises(ArchiveQAError, match="索引不可用"):
        service.ask("瓜山未来社区建成开放的是哪家酒店？", [])
    repair_index(settings.index_options(), named)
    answer = service.ask("瓜山未来社区建成开放的是哪家酒店？", [])
    assert not answer.refused and "往来酒店" in answer.text
    assert not service.status().startswith("索引不可用")
