"""Questions take turns at one shared model, in the order they arrived, and each can see
how many are ahead of it ("排队中（前面还有 N 个问题）").

A turn is not tied to a thread: a web framework may step one question's generator on
different worker threads.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class Turn:
    """One question's place in the queue."""

    def __init__(self, queue: TurnQueue) -> None:
        self._queue = queue

    def ahead(self) -> int:
        """How many questions are before this one (0: its turn)."""
        with self._queue.changed:
            return self._queue.position(self)

    def wait(self, timeout_s: float) -> int:
        """Wait until the queue moves (or ``timeout_s`` passes); how many are ahead now."""
        with self._queue.changed:
            before = self._queue.position(self)
            if before:
                self._queue.changed.wait(timeout_s)
            return self._queue.position(self)


class TurnQueue:
    def __init__(self) -> None:
        self.changed = threading.Condition()
        self._waiting: deque[Turn] = deque()

    def position(self, turn: Turn) -> int:
        return self._waiting.index(turn)

    def __len__(self) -> int:
        with self.changed:
            return len(self._waiting)

    @contextmanager
    def turn(self) -> Iterator[Turn]:
        """Join the end of the queue; leave it (wherever in it) when the block ends."""
        turn = Turn(self)
        with self.changed:
            self._waiting.append(turn)
        try:
            yield turn
        finally:
            with self.changed:
                self._waiting.remove(turn)
                self.changed.notify_all()
