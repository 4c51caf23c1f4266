"""The supervisor of the local model's process (`qa.llm_worker`).

It starts the worker, sends it one request at a time (two computations on 2 cores would
spin against each other), streams the tokens back, and watches it: a worker that dies
(segmentation fault, kill -9) or writes nothing for too long is ended and a new one
started in the background, which reads the remembered warm-up prompts again so the
prompt-prefix cache is back before the next question. The question that was being
answered gets a `ModelProcessError`, which the answer layer turns into a notice and an
extractive answer. After several failures in a row without one good answer the local
model is given up, with the reason, instead of crashing again and again.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import multiprocessing
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from index.errors import ArchiveQAError
from qa.llm_runtime import describe_exit, fix_for_exit
from qa.llm_worker import WorkerConfig
from qa.turns import TurnQueue

logger = logging.getLogger(__name__)

WORKER = "qa.llm_worker:serve"
MAX_FAILURES_IN_A_ROW = 3
_CANCEL_DRAIN_S = 10.0  # a cancelled request must end within this long


class ModelProcessError(ArchiveQAError):
    """The local model's process failed to start, died, hung or raised."""


@dataclass(frozen=True)
class Timeouts:
    start_s: float = 120.0  # loading the weights and the first context
    first_token_s: float = 120.0  # prompt reading before the first token
    token_s: float = 30.0  # between two tokens


class ModelProcess:
    """One supervised worker process and the queue of questions waiting for it."""

    def __init__(
        self, config: WorkerConfig, timeouts: Timeouts = Timeouts(), target: str = WORKER
    ) -> None:
        self.config = config
        self.timeouts = timeouts
        self.queue = TurnQueue()
        self._target = target  # module:function run in the worker
        self._lock = threading.Lock()  # one request in flight on the pipe
        self._process: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._warm_ups: dict[str, list[dict[str, str]]] = {}
        self._ids = itertools.count(1)
        self.starts = 0  # worker processes started so far (restarts are starts - 1)
        self.failures_in_a_row = 0
        self.broken: str | None = None  # why the local model was given up
        self.system_info = ""
        self.last_stats: dict[str, Any] = {}

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if self._alive(process) else None

    @staticmethod
    def _alive(process: subprocess.Popen | None) -> bool:
        return process is not None and process.poll() is None

    # Public calls
    def start(self) -> None:
        """Start the worker now (waits until it has loaded). Raises ModelProcessError."""
        with self._lock:
            self._ensure_started()

    def chat(
        self,
        context: str,
        messages: list[dict[str, str]],
        max_tokens: int,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        watch: list[str] | None = None,
    ) -> Iterator[str]:
        """Stream the tokens of a chat completion in the named context. ``last_stats``
        then also holds each token's log-probability and, for every text of ``watch``,
        the log-probability that the reply starts with its first token."""
        request = {
            "op": "chat",
            "context": context,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stop": stop or [],
            "watch": watch or [],
        }
        with self._lock:
            self._ensure_started()
            yield from self._request(request)

    def warm_up(self, context: str, messages: list[dict[str, str]]) -> None:
        """Read ``messages`` into the context's cache now, and again after every restart."""
        for _ in self.chat(context, messages, max_tokens=1):
            pass
        self._warm_ups[context] = messages  # after: a first start must not read it twice

    def speed(self, context: str = "answer") -> dict[str, float]:
        """Prompt-reading and generation tokens/s measured in the worker."""
        with self._lock:
            self._ensure_started()
            for _ in self._request({"op": "speed", "context": context}):
                pass
        return dict(self.last_stats)

    def close(self) -> None:
        """Stop the worker; one busy with a request (the app is exiting) is killed."""
        if self._lock.acquire(timeout=5):
            try:
                self._stop()
            finally:
                self._lock.release()
        elif self._alive(self._process):
            self._process.kill()

    # Inside the lock
    def _ensure_started(self) -> None:
        if self.broken:
            raise ModelProcessError(self.broken)
        if self._alive(self._process):
            return
        self._stop()
        parent, child = multiprocessing.Pipe()
        command = [
            sys.executable, "-m", "qa.llm_worker", "--serve", str(child.fileno()),
            "--target", self._target, "--config", self.config.to_json(),
        ]  # fmt: skip
        # A fresh interpreter: it imports the worker and llama.cpp, not the app around it.
        process = subprocess.Popen(command, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        child.close()
        self.starts += 1
        self._process, self._conn = process, parent
        try:
            if not parent.poll(self.timeouts.start_s):
                raise self._failed(
                    f"本地语言模型 {self.timeouts.start_s:g} 秒内没有加载完成", kill=True
                )
            kind, _, payload = parent.recv()
        except (EOFError, OSError):
            raise self._failed("本地语言模型进程在加载时退出") from None
        if kind != "ready":
            raise self._failed(f"本地语言模型无法加载（{payload}），模型文件可能已损坏", kill=True)
        self.system_info = payload["system_info"]
        logger.info("language model process %s ready", payload["pid"])
        for context, messages in self._warm_ups.items():
            for _ in self._request({"op": "chat", "context": context, "messages": messages,
                                    "max_tokens": 1}):  # fmt: skip
                pass

    def _request(self, request: dict[str, Any]) -> Iterator[str]:
        conn = self._conn
        assert conn is not None
        rid = next(self._ids)
        self.last_stats = {}
        conn.send({**request, "id": rid})
        timeout = self.timeouts.first_token_s
        finished = False
        try:
            while True:
                if not conn.poll(timeout):
                    raise self._failed(f"本地语言模型 {timeout:g} 秒内没有输出", kill=True)
                try:
                    kind, got, payload = conn.recv()
                except (EOFError, OSError):
                    raise self._failed("本地语言模型进程意外退出") from None
                if got != rid:
                    continue  # the end of an earlier, cancelled request
                if kind == "token":
                    yield payload
                    timeout = self.timeouts.token_s
                    continue
                finished = True
                if kind == "done":
                    self.failures_in_a_row = 0
                    self.last_stats = payload
                    return
                raise ModelProcessError(f"本地语言模型出错（{payload}）")
        finally:
            if not finished and self._conn is conn:
                self._cancel(conn, rid)

    def _cancel(self, conn: Connection, rid: int) -> None:
        """The reader stopped early (a decoding loop was cut, the person left): stop the
        worker's generation and read what it still sends, so the next request starts clean."""
        try:
            conn.send({"op": "cancel", "id": rid})
            while conn.poll(_CANCEL_DRAIN_S):
                kind, got, _ = conn.recv()
                if got == rid and kind != "token":
                    return
        except (EOFError, OSError):
            pass
        self._failed("本地语言模型没有响应取消请求", kill=True)

    def _failed(self, what: str, kill: bool = False) -> ModelProcessError:
        """End the worker, count the failure, restart in the background (or give up), and
        return the error to raise."""
        process = self._process
        code = None
        if process is not None:
            if kill and self._alive(process):
                process.kill()
            try:
                code = process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        self._close_pipe()
        self._process = None
        self.failures_in_a_row += 1
        cause = f"{what}（{describe_exit(code)}）" if code is not None and not kill else what
        logger.warning("language model process failed: %s", cause)
        if self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
            self.broken = (
                f"{cause}；本地语言模型连续 {self.failures_in_a_row} 次失败，已停用"
                f"（{fix_for_exit(code)}）"
            )
            return ModelProcessError(self.broken)
        threading.Thread(target=self._restart, name="llm-restart", daemon=True).start()
        return ModelProcessError(f"{cause}，模型进程正在重启")

    def _restart(self) -> None:
        try:
            self.start()
        except ModelProcessError as exc:
            logger.warning("language model restart failed: %s", exc.message)

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send(None)
        if process is not None:
            try:
                process.wait(2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(2)
        self._close_pipe()
        self._process = None

    def _close_pipe(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_SHARED: dict[tuple[WorkerConfig, Timeouts], ModelProcess] = {}
_SHARED_LOCK = threading.Lock()


def shared_process(config: WorkerConfig, timeouts: Timeouts) -> ModelProcess:
    """The one worker of this configuration in this process, started (raises
    ModelProcessError when it cannot start)."""
    with _SHARED_LOCK:
        process = _SHARED.get((config, timeouts))
        if process is None:
            process = _SHARED[(config, timeouts)] = ModelProcess(config, timeouts)
    process.start()
    return process


@atexit.register
def _close_all() -> None:
    for process in _SHARED.values():
        process.close()
