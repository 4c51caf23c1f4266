"""A deterministic chat model for UI tests: it streams, slowly, the passage sentence that
shares the most of the question's characters, cited with its passage's number — an answer
that is right by construction."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from qa.turns import TurnQueue

_BLOCK = re.compile(r"^\[(\d+)\] .*\n((?:.+\n?)+)", re.MULTILINE)


class EchoBestSentenceModel(BaseChatModel):
    delay_s: float = 0.03

    @property
    def _llm_type(self) -> str:
        return "echo-best-sentence"

    def _reply(self, messages: list[BaseMessage]) -> str:
        prompt = str(messages[-1].content)
        passages, _, question = prompt.rpartition("问题：")
        wanted = set(question.strip())
        sentences = [
            (len(wanted & set(sentence)), -int(number), sentence.strip("…\n "), number)
            for number, body in _BLOCK.findall(passages)
            for sentence in re.split(r"(?<=[。！？])", body)
            if sentence.strip("…\n ")
        ]
        if not sentences:
            return "资料中没有相关信息"
        _, _, sentence, number = max(sentences)
        return sentence.rstrip("。") + f"[{number}]。"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self._reply(messages)))])

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages)
        for start in range(0, len(reply), 2):
            time.sleep(self.delay_s)
            yield ChatGenerationChunk(message=AIMessageChunk(content=reply[start : start + 2]))


class QueuedEchoModel(EchoBestSentenceModel):
    """The echo model behind a turn queue, as the local model is: questions take turns."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    queue: TurnQueue = Field(default_factory=TurnQueue)


class NamedFakeEmbedding(DeterministicFakeEmbedding):
    """Deterministic vectors under a model name (the service refuses an index of another
    embedding model)."""

    model_id: str = "fake@16"
