"""Two writers at once: a second `archive-qa ingest` while one runs is refused naming the
running one, or queues with --wait; either way no source is lost (before the lock, the
second run reported success and its source was gone once the first finished)."""

from __future__ import annotations

import time
from pathlib import Path

from index.writer_lock import LOCK_FILE, read_note
from qa.reliability.report import Row
from qa.reliability.scratch import Scratch, cli, plain_article_files

LOCK_TIMEOUT_S = 120


# The first writer must still hold the lock when the second one, after loading its
# embedding model (3-8 s), reaches it: it ingests this many new documents (~12 s here).
FIRST_WRITER_FILES = 120


def writer_rows(scratch: Scratch, base: Path) -> list[Row]:
    first = plain_article_files(
        scratch.root / "writers-first", scratch.docs, FIRST_WRITER_FILES, scratch.seeds, skip=1000
    )
    second = scratch.extra
    rows = []
    for wait in (False, True):
        index_dir = scratch.copy_index(base, f"writers-{'wait' if wait else 'refuse'}")
        running = cli(["ingest", *map(str, first)], index_dir)
        if not _wait_for_lock(index_dir, running.pid):
            running.kill()
            rows.append(Row("两个写入", "等待第一个导入拿到锁", "超时", False))
            continue
        started = time.monotonic()
        args = ["ingest", *map(str, second)] + (["--wait"] if wait else [])
        other = cli(args, index_dir)
        out, err = other.communicate(timeout=600)
        refused_in = time.monotonic() - started
        running.communicate(timeout=600)
        state = scratch.state(index_dir)
        expected = set(scratch.seeds_names) | {p.name for p in first}
        if wait:
            expected |= {p.name for p in second}
            ok = other.returncode == 0 and set(state.sources) == expected
            outcome = f"第二个导入排队，第一个结束后完成；索引 {state.describe()}"
            case = "导入进行中再启动一个导入（--wait）"
        else:
            named = f"PID {running.pid}" in out + err
            ok = other.returncode != 0 and named and set(state.sources) == expected
            message = (out + err).strip().splitlines()[-1] if (out + err).strip() else ""
            outcome = (
                f"{refused_in:.1f} 秒内拒绝：{message}；第一个导入的来源都在（{state.describe()}）"
            )
            case = "导入进行中再启动一个导入"
        rows.append(Row("两个写入", case, outcome, ok, {"second_exit": other.returncode}))
    return rows


def _wait_for_lock(index_dir: Path, pid: int) -> bool:
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while time.monotonic() < deadline:
        note = read_note(index_dir / LOCK_FILE)
        if note and note.get("pid") == pid:
            return True
        time.sleep(0.1)
    return False
