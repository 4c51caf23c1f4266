"""One writer per index folder across processes (index/writer_lock.py): a second writer is
refused at once naming the first, or waits; a writer killed with kill -9 blocks nobody and
its leftovers are cleared."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.errors import ArchiveQAError
from index.store import MANIFEST
from index.writer_lock import LOCK_FILE, read_note, writer_lock
from tests.conftest import hold_lock


def start_holder(index_dir: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that takes the writer lock and keeps it for ``seconds``."""
    return hold_lock("index.writer_lock:writer_lock", index_dir, seconds, "archive-qa ingest 测试/")


def test_a_second_writer_is_refused_naming_the_running_one(tmp_path: Path) -> None:
    holder = start_holder(tmp_path, 30)
    try:
        with (
            pytest.raises(ArchiveQAError, match=rf"PID {holder.pid} 的 archive-qa ingest 测试/"),
            writer_lock(tmp_path, "archive-qa remove a.txt"),
        ):
            pytest.fail("the lock was granted twice")
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_writer_goes_on_when_the_first_ends(tmp_path: Path) -> None:
    holder = start_holder(tmp_path, 1.5)
    started = time.monotonic()
    with writer_lock(tmp_path, "archive-qa ingest --wait", wait=True):
        assert time.monotonic() - started >= 1.0  # granted only once the first had finished
    assert holder.wait() == 0


def test_a_killed_writer_blocks_nobody_and_its_leftovers_are_cleared(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text('{"generation_dir": "gen-000002"}', encoding="utf-8")
    for name in ("gen-000001", "gen-000002", "gen-000003", ".staging-abc"):
        (tmp_path / name).mkdir()
    (tmp_path / f".{MANIFEST}.tmp1").write_text("{", encoding="utf-8")
    holder = start_holder(tmp_path, 30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert read_note(tmp_path / LOCK_FILE)["pid"] == holder.pid  # the note it left behind
    with writer_lock(tmp_path, "archive-qa ingest"):
        assert read_note(tmp_path / LOCK_FILE)["pid"] == os.getpid()
        left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [LOCK_FILE, "gen-000002", MANIFEST]
    assert read_note(tmp_path / LOCK_FILE) is None  # released cleanly: an empty note


def test_the_cli_refuses_a_second_ingest(tmp_path: Path, monkeypatch) -> None:
    """`archive-qa remove` beside a running writer exits with the message, not a traceback,
    and the index is not touched."""
    holder = start_holder(tmp_path, 30)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "qa.cli", "remove", "a.txt"],
            capture_output=True,
            text=True,
            env={**os.environ, "ARCHIVE_QA_INDEX_DIR": str(tmp_path)},
            cwd=Path(__file__).resolve().parents[1],
            timeout=120,
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode != 0
    assert f"PID {holder.pid}" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert not (tmp_path / MANIFEST).exists()
