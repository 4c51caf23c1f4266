"""One writer per index folder, across processes.

Every change to the index (ingest, remove, rebuild; from the CLI or the web app) reads the
current generation, changes it and writes the next one. Two writers at once would each
start from the same generation and the second save would drop the first one's sources. An
exclusive ``flock`` on ``<index_dir>/.writer.lock`` keeps them apart: a second writer is
refused at once with the name of the running one, or waits for it (``--wait``).

The kernel releases a ``flock`` when its process dies, so a writer killed with ``kill -9``
never blocks the next one; the holder's note it leaves in the file tells the next writer
that a write was interrupted, and that writer clears what the interrupted one left behind.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from index.store import remove_leftovers
from qa.errors import ArchiveQAError

log = logging.getLogger(__name__)
LOCK_FILE = ".writer.lock"


def describe_holder(note: dict[str, Any]) -> str:
    """ "PID 123 的 archive-qa ingest seeds/（开始于 …）" from a lock note."""
    return f"PID {note.get('pid', '?')} 的 {note.get('action', '写入')}（开始于 {note.get('started', '?')}）"


def read_note(path: Path) -> dict[str, Any] | None:
    """The note of the writer that holds (or last held, if it died) the lock, if any."""
    try:
        text = path.read_text(encoding="utf-8").strip()
        return json.loads(text) if text else None
    except (OSError, json.JSONDecodeError):
        return None


@contextmanager
def writer_lock(index_dir: Path, action: str, *, wait: bool = False) -> Iterator[None]:
    """Hold the index folder's writer lock for the block. Raises `ArchiveQAError` naming the
    running writer when another one holds it and ``wait`` is false."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK_FILE
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe_holder(read_note(path) or {})
            if not wait:
                raise ArchiveQAError(
                    f"索引正在被另一个写入使用：{holder}。请等它结束后再试，或加 --wait 排队等待",
                    source=str(index_dir),
                ) from None
            log.warning("等待另一个写入结束：%s", holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            interrupted = read_note(path)
            if interrupted is not None:
                log.warning(
                    "上一次写入被中断（%s），清理它留下的临时文件", describe_holder(interrupted)
                )
            remove_leftovers(index_dir)
            _write_note(handle, action)
            yield
        finally:
            handle.truncate(0)  # an empty note: the last writer finished
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_note(handle: Any, action: str) -> None:
    note = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "action": action,
        "started": dt.datetime.now().isoformat(timespec="seconds"),
    }
    handle.seek(0)
    handle.truncate(0)
    handle.write(json.dumps(note, ensure_ascii=False))
    handle.flush()
    os.fsync(handle.fileno())
