"""Worker processes that behave badly on purpose, for the supervisor's tests.

Each is a target for `ModelProcess(target=...)` and speaks the worker protocol of
`qa.llm_worker`. ``config.model_path`` names a scratch folder: a worker that misbehaves
"once" leaves a marker file there and behaves from its second start on. Every started
worker appends its pid to ``starts.txt`` there; every request it reads goes to
``requests.txt``.
"""

from __future__ import annotations

import os
import signal
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from qa.llm_worker import WorkerConfig


def _log(config: WorkerConfig, name: str, line: str) -> None:
    with (Path(config.model_path) / name).open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _first_time(config: WorkerConfig, marker: str) -> bool:
    path = Path(config.model_path) / marker
    if path.exists():
        return False
    path.touch()
    return True


def _reply(request: dict[str, Any]) -> str:
    return "回答：" + request["messages"][-1]["content"][:20]


def _serve(conn: Connection, config: WorkerConfig, misbehave: Any = None) -> None:
    _log(config, "starts.txt", str(os.getpid()))
    conn.send(("ready", 0, {"pid": os.getpid(), "system_info": "FAKE = 1"}))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        if request["op"] == "cancel":
            continue
        _log(config, "requests.txt", f"{request['context']} {request.get('max_tokens')}")
        if request["op"] == "speed":
            conn.send(("done", request["id"], {"prompt_tokens_per_s": 1.0}))
            continue
        reply = _reply(request)[: request["max_tokens"]]
        for position, char in enumerate(reply):
            if misbehave is not None:
                misbehave(position)
            if conn.poll():  # cancelled, or told to stop
                if conn.recv() is None:
                    return
                break
            conn.send(("token", request["id"], char))
            time.sleep(0.01)
        conn.send(("done", request["id"], {"completion_tokens": len(reply)}))


def echo_worker(conn: Connection, config: WorkerConfig) -> None:
    """Answers "回答：" and the start of the last message, one character a token."""
    _serve(conn, config)


def crash_once_worker(conn: Connection, config: WorkerConfig) -> None:
    """Segfaults after its third token, the first time it is started."""
    crash = _first_time(config, "crashed")

    def misbehave(position: int) -> None:
        if crash and position == 3:
            os.kill(os.getpid(), signal.SIGSEGV)

    _serve(conn, config, misbehave)


def hang_once_worker(conn: Connection, config: WorkerConfig) -> None:
    """Stops writing after two tokens, the first time it is started."""
    hang = _first_time(config, "hung")

    def misbehave(position: int) -> None:
        if hang and position == 2:
            time.sleep(3600)

    _serve(conn, config, misbehave)


def always_crash_worker(conn: Connection, config: WorkerConfig) -> None:
    """Segfaults at its first token, every time (a CPU kernel that always faults)."""

    def misbehave(position: int) -> None:
        os.kill(os.getpid(), signal.SIGSEGV)

    _serve(conn, config, misbehave)


def failing_load_worker(conn: Connection, config: WorkerConfig) -> None:
    """Cannot load its model (a corrupt file)."""
    _log(config, "starts.txt", str(os.getpid()))
    conn.send(("failed", 0, "ValueError: Failed to load model from file"))
