"""The note a lock's holder leaves in its lock file: who holds it (PID, host, command) and
since when, so that a process that finds the lock taken can name the one that holds it."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path
from typing import IO, Any


def describe_holder(note: dict[str, Any]) -> str:
    """ "PID 123 的 archive-qa ingest seeds/（开始于 …）" from a lock note."""
    return f"PID {note.get('pid', '?')} 的 {note.get('action', '写入')}（开始于 {note.get('started', '?')}）"


def read_note(path: Path) -> dict[str, Any] | None:
    """The note of the process that holds (or last held, if it died) the lock, if any."""
    try:
        text = path.read_text(encoding="utf-8").strip()
        return json.loads(text) if text else None
    except (OSError, json.JSONDecodeError):
        return None


def write_note(handle: IO[str], action: str) -> None:
    """Replace the lock file's note with this process's, synced to disk."""
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


def clear_note(handle: IO[str]) -> None:
    """An empty note: the holder finished."""
    handle.truncate(0)
    handle.flush()
