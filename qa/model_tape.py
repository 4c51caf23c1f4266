"""Record a language model's replies once, replay them while the rest of the pipeline
changes: `archive-qa eval --record-tape FILE` / `--replay-tape FILE`.

The local model takes ~6 s per answer on 2 cores; the verdict (qa/verdict.py) and other
answer-side code look only at what the model wrote. With a tape, a change there is measured
on hundreds of questions in seconds, exactly as the recorded run would have come out. A
prompt that is not on the tape (the context changed) raises, so a replay never silently
measures something the model did not say.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from index.atomic_file import write_bytes_atomic, write_text_atomic
from index.errors import ArchiveQAError
from qa.llm import message_dicts

# What a recorded reply keeps of the model's statistics: its confidence, not its timings.
CONFIDENCE_STATS = ("token_logprobs", "first_logprobs")


class Tape:
    """Prompt key → reply, shared by the models that record to it or replay from it (a
    plain object: pydantic would copy a dict field). A reply is its text, the model's
    confidence statistics (token log-probabilities) and, for a yes/no self-check prompt,
    the probability of "是"; a tape of plain strings (before confidence) still replays."""

    def __init__(self, replies: dict[str, Any] | None = None) -> None:
        self.replies = {
            key: value if isinstance(value, dict) else {"text": value}
            for key, value in (replies or {}).items()
        }
        self.used: set[str] = set()  # keys asked for in this process, recorded or replayed

    @classmethod
    def read(cls, path: Path) -> Tape:
        """The tape at ``path`` (gzip-compressed when it ends in .gz), or an empty one."""
        if not path.exists():
            return cls()
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        return cls(json.loads(data.decode("utf-8")))

    def write(self, path: Path, *, only_used: bool = False) -> None:
        """Whole or not at all; a .gz tape compressed without a timestamp, so that the same
        replies give the same bytes (a committed tape changes only when a reply does).
        ``only_used`` leaves out the replies nobody asked for in this process."""
        replies = {k: v for k, v in self.replies.items() if not only_used or k in self.used}
        text = json.dumps(replies, ensure_ascii=False, indent=0, sort_keys=True)
        if path.suffix == ".gz":
            write_bytes_atomic(path, gzip.compress(text.encode("utf-8"), mtime=0))
        else:
            write_text_atomic(path, text)


def prompt_key(messages: list[BaseMessage]) -> str:
    text = json.dumps(message_dicts(messages), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def confidence_stats(stats: dict[str, Any]) -> dict[str, Any]:
    return {key: stats[key] for key in CONFIDENCE_STATS if key in stats}


class RecordingChatModel(BaseChatModel):
    """Keeps prompt key → reply in ``tape``: a prompt already on it is answered from it,
    any other by ``inner`` (so a second run pays only for the prompts that changed; its
    latencies then mean nothing, and `archive-qa eval` says so). With ``save_to`` the tape
    is written (whole or not at all) after every new reply: a recording of hundreds of
    questions that is stopped keeps what it paid for, and running it again goes on."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    tape: Tape
    save_to: Path | None = None
    replayed: int = 0
    recorded_stats: dict[str, Any] | None = None  # of the last reply taken from the tape

    @property
    def _llm_type(self) -> str:
        return f"recording-{self.inner._llm_type}"

    @property
    def last_stats(self) -> dict[str, Any]:
        if self.recorded_stats is not None:
            return self.recorded_stats
        return getattr(self.inner, "last_stats", {})

    def warm_up(self, messages: list[BaseMessage]) -> None:
        warm = getattr(self.inner, "warm_up", None)
        if warm is not None:
            warm(messages)

    def yes_probability(self, messages: list[BaseMessage]) -> float | None:
        key = prompt_key(messages)
        self.tape.used.add(key)
        if key not in self.tape.replies:
            ask = getattr(self.inner, "yes_probability", None)
            self.tape.replies[key] = {"yes": ask(messages) if ask else None}
            self._save()
        return self.tape.replies[key]["yes"]

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        key = prompt_key(messages)
        self.tape.used.add(key)
        if key in self.tape.replies:
            self.replayed += 1
            self.recorded_stats = self.tape.replies[key].get("stats", {})
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=self.tape.replies[key]["text"])
            )
            return
        self.recorded_stats = None
        reply = ""
        for chunk in self.inner.stream(messages):
            reply += str(chunk.content)
            yield ChatGenerationChunk(message=AIMessageChunk(content=chunk.content))
        self.tape.replies[key] = {
            "text": reply,
            "stats": confidence_stats(getattr(self.inner, "last_stats", {})),
        }
        self._save()

    def _save(self) -> None:
        if self.save_to is not None:
            self.tape.write(self.save_to)


class ReplayChatModel(BaseChatModel):
    """Replies from a tape; a prompt that is not on it raises `ArchiveQAError`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    tape: Tape
    misses: int = 0
    last_stats: dict[str, Any] = Field(default_factory=dict)  # recorded, of the last reply

    @property
    def _llm_type(self) -> str:
        return "replay"

    def _recorded(self, messages: list[BaseMessage]) -> dict[str, Any]:
        key = prompt_key(messages)
        if key not in self.tape.replies:
            self.misses += 1
            raise ArchiveQAError("录制的模型回答中没有这个提示词（上下文已改变，需要重新录制）")
        return self.tape.replies[key]

    def _reply(self, messages: list[BaseMessage]) -> str:
        recorded = self._recorded(messages)
        self.last_stats = recorded.get("stats", {})
        return recorded["text"]

    def yes_probability(self, messages: list[BaseMessage]) -> float | None:
        return self._recorded(messages).get("yes")

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self._reply(messages)))])

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        yield ChatGenerationChunk(message=AIMessageChunk(content=self._reply(messages)))
