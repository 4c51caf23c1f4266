"""Shared fixtures: paths to the seeds, the test data and ../shared (skipped when absent)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh index folder per test."""
    return Settings(index_dir=tmp_path / "index")


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared 不存在（{SHARED}）：跳过依赖共享评测数据的测试")
    return SHARED


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TWO_SEED_ISSUES = ("000_5f1999aa854af018.txt", "004_30cb9bfa44a51e07.txt")


def serve_two_issues(root: Path, delay_s: float = 0.03, **overrides):
    """The real server (page and /v1) over two seed issues, answered by the deterministic
    streaming fake model: (server, service); ``server.close()`` stops it. ``overrides``
    change settings (``store="milvus"``)."""
    import shutil

    from app import BackgroundServer
    from qa.service import open_service
    from tests.fake_models import EchoBestSentenceModel

    seeds = root / "seeds"
    seeds.mkdir()
    for name in TWO_SEED_ISSUES:
        shutil.copy(SEEDS / name, seeds / name)
    settings = Settings(
        index_dir=root / "index",
        upload_dir=root / "uploads",
        seeds_dir=seeds,
        llm="none",
        app_port=free_port(),
        **overrides,
    )
    service = open_service(settings)
    service.answerer.model = EchoBestSentenceModel(delay_s=delay_s)
    service.answerer.backend = "fake"
    return BackgroundServer(settings, service), service


def hold_lock(lock: str, path: Path, seconds: float, action: str) -> subprocess.Popen[str]:
    """Another process that holds a lock for ``seconds``, once it has printed "held":
    ``lock`` names the context manager ("index.writer_lock:writer_lock" takes the index
    folder, "qa.model_turn:model_turn" the lock file) and ``action`` the command it is."""
    module, name = lock.split(":")
    code = (
        f"import sys, time\nfrom pathlib import Path\nfrom {module} import {name}\n"
        f"with {name}(Path(sys.argv[1]), {action!r}):\n"
        "    print('held', flush=True)\n    time.sleep(float(sys.argv[2]))\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder
