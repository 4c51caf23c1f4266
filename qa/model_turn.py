"""One model-loading evaluation or benchmark at a time on this machine.

On 2 cores two llama.cpp processes halve each other (20 instead of 50 prompt tokens/s), so
two evaluations started side by side both take twice as long and both report wrong
latencies. `model_turn` holds an exclusive ``flock`` on a machine-wide file
(``ARCHIVE_QA_MODEL_TURN_LOCK``) for the whole run: a second run says which one it waits for
(its command, since when) and starts when that one ends. The kernel drops the lock of a
process that dies, so a killed run never blocks the next one.
"""

from __future__ import annotations

import fcntl
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from index.holder_note import clear_note, describe_holder, read_note, write_note


def _tell(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def model_turn(
    lock_path: Path,
    command: str,
    *,
    side_by_side: bool = False,
    tell: Callable[[str], None] = _tell,
) -> Iterator[None]:
    """Hold the machine's model turn for the block, waiting for the run that holds it.
    With ``side_by_side`` the block runs at once, taking no turn."""
    if side_by_side:
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe_holder(read_note(lock_path) or {})
            tell(
                f"本机已有一个使用本地语言模型的评测或测速在运行：{holder}。"
                "等它结束后再开始（两个同时运行各慢 2–3 倍，用时也不准；加 --side-by-side 可同时运行）"
            )
            waited = time.monotonic()
            fcntl.flock(handle, fcntl.LOCK_EX)
            tell(f"等待了 {time.monotonic() - waited:.0f} 秒，现在开始")
        try:
            write_note(handle, command)
            yield
        finally:
            clear_note(handle)
            fcntl.flock(handle, fcntl.LOCK_UN)
