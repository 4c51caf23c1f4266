"""Record a language model's replies once, replay them while the rest of the pipeline
changes: `archive-qa eval --record-tape FILE` / `--replay-tape FILE`.

The local model takes ~6 s per answer on 2 cores; the verdict (qa/verdict.py) and other
answer-side code look only at what the model wrote. With a tape, a change there is measured
on hundreds of questions in seconds, exactly as the recorded run would have come out. A
prompt that is not on the tape (the context changed) raises, so a replay never silently
measures something the model did not say.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from qa.errors import ArchiveQAError
from qa.llm import message_dicts


class Tape:
    """Prompt key → reply, shared by the models that record to it or replay from it (a
    plain object: pydantic would copy a dict field)."""

    def __init__(self, replies: dict[str, str] | None = None) -> None:
        self.replies = replies or {}

    @classmethod
    def read(cls, path: Path) -> Tape:
        if not path.exists():
            return cls()
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.replies, ensure_ascii=False, indent=0), encoding="utf-8")


def prompt_key(messages: list[BaseMessage]) -> str:
    text = json.dumps(message_dicts(messages), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class RecordingChatModel(BaseChatModel):
    """Keeps prompt key → reply in ``tape``: a prompt already on it is answered from it,
    any other by ``inner`` (so a second run pays only for the prompts that changed; its
    latencies then mean nothing, and `archive-qa eval` says so)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    tape: Tape
    replayed: int = 0

    @property
    def _llm_type(self) -> str:
        return f"recording-{self.inner._llm_type}"

    @property
    def last_stats(self) -> dict[str, Any]:
        return getattr(self.inner, "last_stats", {})

    def warm_up(self, messages: list[BaseMessage]) -> None:
        warm = getattr(self.inner, "warm_up", None)
        if warm is not None:
            warm(messages)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        key = prompt_key(messages)
        if key in self.tape.replies:
            self.replayed += 1
            yield ChatGenerationChunk(message=AIMessageChunk(content=self.tape.replies[key]))
            return
        reply = ""
        for chunk in self.inner.stream(messages):
            reply += str(chunk.content)
            yield ChatGenerationChunk(message=AIMessageChunk(content=chunk.content))
        self.tape.replies[key] = reply


class ReplayChatModel(BaseChatModel):
    """Replies from a tape; a prompt that is not on it raises `ArchiveQAError`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    tape: Tape
    misses: int = 0

    @property
    def _llm_type(self) -> str:
        return "replay"

    def _reply(self, messages: list[BaseMessage]) -> str:
        key = prompt_key(messages)
        if key not in self.tape.replies:
            self.misses += 1
            raise ArchiveQAError("录制的模型回答中没有这个提示词（上下文已改变，需要重新录制）")
        return self.tape.replies[key]

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self._reply(messages)))])

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        yield ChatGenerationChunk(message=AIMessageChunk(content=self._reply(messages)))
