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

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from index.errors import ArchiveQAError
from index.holder_note import clear_note, describe_holder, read_note, write_note
from index.store import remove_leftovers

log = logging.getLogger(__name__)
LOCK_FILE = ".writer.lock"


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
            write_note(handle, action)
            yield
        finally:
            clear_note(handle)
            fcntl.flock(handle, fcntl.LOCK_UN)
