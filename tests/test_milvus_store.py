"""The Milvus store (Milvus Lite here): migrate round trip, kill -9 during a write, an
unreachable Milvus, and the filters applied inside Milvus's own searches."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from pydantic import SecretStr

from index.errors import ArchiveQAError
from index.ingest import ingest, remove
from index.migrate import migrate
from index.milvus_store import release
from index.store import file_digests
from index.stores import open_store
from qa.retrieve import Filters, build_retriever
from qa.settings import Settings
from tests.conftest import DATA, ROOT, SEEDS, TWO_SEED_ISSUES, free_port

FAKE = DeterministicFakeEmbedding(size=16)
QUERIES = ("瓜山未来社区", "老旧小区改造", "中国人民警察节", "2021年1月 新闻热线", "会议")


def two_issues(root: Path) -> list[Path]:
    return [SEEDS / name for name in TWO_SEED_ISSUES] + [DATA / "sample_issue.txt"]


def top_ids(settings: Settings, query: str, **filters) -> list[str]:
    retriever = build_retriever(open_store(settings.store_options()), FAKE, settings, k=5)
    return [hit.passage.id for hit in retriever.search(query, filters=Filters(**filters)).hits]


def test_migrate_round_trip_keeps_passages_and_results(tmp_path: Path) -> None:
    faiss = Settings(index_dir=tmp_path / "index")
    milvus = faiss.model_copy(update={"store": "milvus"})
    ingest(two_issues(tmp_path), faiss.index_options(), FAKE, progress=False)
    report = migrate(faiss.store_options(), "milvus")
    copy, original = open_store(milvus.store_options()), open_store(faiss.store_options())
    assert report.passages == copy.passage_count == original.passage_count > 0
    assert copy.source_passage_counts() == original.source_passage_counts()
    assert copy.issues == original.issues
    for query in QUERIES:
        assert top_ids(milvus, query) == top_ids(faiss, query), query
    # back: a source removed in Milvus is gone from the FAISS folder after migrating back
    assert remove(milvus.store_options(), ["sample_issue.txt"]) == []
    migrate(faiss.store_options(), "faiss")
    back = open_store(faiss.store_options())
    assert "sample_issue.txt" not in back.issues
    assert (
        back.source_passage_counts() == open_store(milvus.store_options()).source_passage_counts()
    )
    for query in QUERIES:
        assert top_ids(faiss, query) == top_ids(milvus, query), query


def test_filters_apply_inside_milvus_searches(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", store="milvus")
    ingest(two_issues(tmp_path), settings.index_options(), FAKE, progress=False)
    store = open_store(settings.store_options())
    papers = {issue["paper"] for issue in store.issues.values()}
    assert len(papers) >= 2
    for paper in papers:
        keys = store.dense_search(FAKE.embed_query("会议")[:16], 50, Filters((paper,)), ())
        keys += store.lexical_search(["会议"], 50, Filters((paper,)))
        assert keys and {s.passage.paper for s in store.fetch(keys).values()} == {paper}
    dated = Filters(date_from="2021-01-01", date_to="2021-12-31")
    keys = store.lexical_search(["会议", "新闻热线"], 50, dated)
    assert keys and all(s.passage.date.startswith("2021") for s in store.fetch(keys).values())
    assert (
        store.lexical_search(["会议"], 50, Filters(date_from="1990-01-01", date_to="1990-12-31"))
        == []
    )


def test_an_unreachable_milvus_is_named_and_the_app_still_starts(tmp_path: Path) -> None:
    from qa.service import open_service

    faiss = Settings(index_dir=tmp_path / "index", llm="none")
    ingest([SEEDS / TWO_SEED_ISSUES[0]], faiss.index_options(), FAKE, progress=False)
    before = file_digests(faiss.index_dir)
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    settings = faiss.model_copy(
        update={"store": "milvus", "milvus_uri": uri, "milvus_timeout_s": 2}
    )
    with pytest.raises(ArchiveQAError) as failure:
        open_store(settings.store_options())
    assert uri in failure.value.message and "无法连接 Milvus" in failure.value.message
    with_password = settings.model_copy(
        update={"milvus_uri": f"http://root:secret@127.0.0.1:{port}"}
    )
    with pytest.raises(ArchiveQAError) as failure:
        open_store(with_password.store_options())
    assert "root:***@127.0.0.1" in str(failure.value) and "secret" not in str(failure.value)
    with_token = with_password.model_copy(update={"milvus_token": SecretStr("user:secret")})
    assert "secret" not in repr(with_token.store_options())
    service = open_service(settings, background=True)
    assert uri in service.status() and "索引不可用" in service.status()
    with pytest.raises(ArchiveQAError, match="无法连接 Milvus"):
        service.ask("瓜山未来社区在哪里？", [])
    assert file_digests(faiss.index_dir) == before  # the FAISS index was never touched


CHILD = """
import sys, time
from pathlib import Path
from langchain_core.embeddings import DeterministicFakeEmbedding
from index.ingest import ingest
from index.milvus_store import MilvusStore
from qa.settings import Settings

index_dir, stage, call, edited = sys.argv[1:]
original = getattr(MilvusStore, stage)
calls = []

def stall_before(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == int(call):
        print("stalled", flush=True)
        time.sleep(600)
    return original(self, *args, **kwargs)

setattr(MilvusStore, stage, stall_before)
settings = Settings(index_dir=Path(index_dir), store="milvus")
ingest([Path(edited)], settings.index_options(), DeterministicFakeEmbedding(size=16), progress=False)
"""


def _killed_write(settings: Settings, stage: str, call: int, edited: Path) -> None:
    """Re-ingest ``edited`` in a child process; kill -9 it before its ``call``-th ``stage``."""
    release(settings.store_options().milvus)  # Milvus Lite: one process at a time holds the file
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(settings.index_dir), stage, str(call), str(edited)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "stalled"
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    ("stage", "call", "visible"),
    [
        ("_insert_sources", 1, "old"),  # the passages are in, the catalogue and manifest not
        ("discard_leftovers", 2, "new"),  # committed; the old version not yet deleted
    ],
)
def test_kill_9_during_a_write_leaves_the_old_or_the_new_state(
    tmp_path: Path, stage: str, call: int, visible: str
) -> None:
    settings = Settings(index_dir=tmp_path / "index", store="milvus")
    ingest(
        [DATA / "sample_issue.txt", SEEDS / TWO_SEED_ISSUES[0]],
        settings.index_options(),
        FAKE,
        progress=False,
    )
    old_counts = open_store(settings.store_options()).source_passage_counts()
    edited = tmp_path / "sample_issue.txt"
    text = (DATA / "sample_issue.txt").read_text(encoding="utf-8")
    edited.write_text(text.replace("雨污分流", "归来客栈"), encoding="utf-8")
    _killed_write(settings, stage, call, edited)
    store = open_store(settings.store_options())
    bm25 = build_retriever(store, FAKE, settings, k=20, mode="bm25")
    new_words = [h for h in bm25.search("归来客栈").hits if "归来客栈" in h.passage.text]
    old_words = [h for h in bm25.search("雨污分流").hits if "雨污分流" in h.passage.text]
    if visible == "old":
        assert store.source_passage_counts() == old_counts
        assert old_words and not new_words
    else:
        assert new_words and not old_words
    assert store.passage_count == sum(store.source_passage_counts().values())
    # the next writer clears what the killed one left: only live rows remain
    ingest([SEEDS / TWO_SEED_ISSUES[1]], settings.index_options(), FAKE, progress=False)
    store = open_store(settings.store_options())
    total = store.client.query(store.passages_name, filter="", output_fields=["count(*)"])
    assert total[0]["count(*)"] == store.passage_count


WRITER = """
import sys
from pathlib import Path
from langchain_core.embeddings import DeterministicFakeEmbedding
from index.ingest import ingest
from qa.settings import Settings

settings = Settings(index_dir=Path(sys.argv[1]), store="milvus", milvus_uri=sys.argv[2])
ingest([Path(sys.argv[3])], settings.index_options(), DeterministicFakeEmbedding(size=16), progress=False)
"""


@pytest.fixture
def milvus_server(tmp_path: Path):
    """A Milvus API server in its own process (Milvus Lite's gRPC server): the URI form a
    standalone Milvus or a cluster has."""
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "milvus_lite", "server"),
            *("--data-dir", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield uri
    finally:
        server.kill()
        server.wait()


def test_a_server_uri_works_and_readers_see_another_process_write(
    tmp_path: Path, milvus_server: str
) -> None:
    settings = Settings(index_dir=tmp_path / "index", store="milvus", milvus_uri=milvus_server)
    ingest([SEEDS / TWO_SEED_ISSUES[0]], settings.index_options(), FAKE, progress=False)
    reader = build_retriever(
        open_store(settings.store_options()), FAKE, settings, k=20, mode="bm25"
    )
    assert not [h for h in reader.search("雨污分流").hits if "雨污分流" in h.passage.text]
    subprocess.run(
        [
            *(sys.executable, "-c", WRITER, str(tmp_path / "writer-lock"), milvus_server),
            str(DATA / "sample_issue.txt"),
        ],
        cwd=ROOT,
        check=True,
    )
    time.sleep(1.2)  # readers look for a newer manifest at most once a second
    found = [h for h in reader.search("雨污分流").hits if "雨污分流" in h.passage.text]
    assert found and found[0].passage.source_file == "sample_issue.txt"
    assert "sample_issue.txt" in reader.index.issues
