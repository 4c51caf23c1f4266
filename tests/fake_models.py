"""A deterministic chat model for UI tests: it streams, slowly, the first sentence of the
first passage it is shown, cited as [1] — an answer that is right by construction."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from qa.turns import TurnQueue


class EchoFirstPassageModel(BaseChatModel):
    delay_s: float = 0.03

    @property
    def _llm_type(self) -> str:
        return "echo-first-passage"

    def _reply(self, messages: list[BaseMessage]) -> str:
        prompt = str(messages[-1].content)
        match = re.search(r"^\[1\] .*\n(.+)$", prompt, re.MULTILINE)
        if not match:
            return "资料中没有相关信息"
        sentence = re.split(r"(?<=[。！？])", match.group(1).lstrip("…"))[0]
        return sentence.rstrip("。") + "[1]。"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self._reply(messages)))])

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages)
        for start in range(0, len(reply), 2):
            time.sleep(self.delay_s)
            yield ChatGenerationChunk(message=AIMessageChunk(content=reply[start : start + 2]))


class QueuedEchoModel(EchoFirstPassageModel):
    """The echo model behind a turn queue, as the local model is: questions take turns."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    queue: TurnQueue = Field(default_factory=TurnQueue)
