"""The model's confidence as verdict features (qa/confidence.py): read from recorded
generations (tapes carry the token log-probabilities and the self-check reply), the
worker's logits processor, and the answer path asking the self-check after the answer."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from qa.confidence import ModelConfidence, yes_share
from qa.llm_worker import TokenConfidence
from qa.model_tape import RecordingChatModel, ReplayChatModel, Tape

# What the local model's worker reported for "往来酒店[1]。" (pieces and log-probabilities).
RECORDED = {
    "token_logprobs": [
        ["往来", -0.05], ["酒店", -0.01], ["2", -2.3], ["7", -0.1], ["间", -0.2],
        ["[", -0.01], ["1", -0.9], ["]", -0.01], ["。", -0.02],
    ],
    "first_logprobs": {"资料中没有相关信息": -4.6},
}  # fmt: skip


def test_features_from_a_recorded_generation() -> None:
    confidence = ModelConfidence.from_stats(RECORDED, "资料中没有相关信息")
    values = confidence.features("往来酒店有多少客房？")
    kept = [-0.05, -0.01, -2.3, -0.1, -0.2, -0.02]  # the marker [1] is left out
    assert values["token_p_mean"] == pytest.approx(math.exp(sum(kept) / len(kept)))
    assert values["token_p_min"] == pytest.approx(math.exp(-2.3))
    assert values["number_p_min"] == pytest.approx(math.exp(-2.3))  # "2", not the marker's "1"
    assert values["novel_p_min"] == pytest.approx(math.exp(-0.2))  # "间": not in the question
    assert values["refusal_start_p"] == pytest.approx(math.exp(-4.6))
    assert values["self_check_yes"] == 0.5 and values["has_confidence"] == 1.0
    unknown = ModelConfidence().features("往来酒店有几间客房？")
    assert unknown["has_confidence"] == 0.0
    assert {unknown[k] for k in unknown if k != "has_confidence"} == {0.5}


def test_the_self_check_share_of_yes() -> None:
    assert yes_share({"是": math.log(0.6), "否": math.log(0.2)}) == pytest.approx(0.75)
    assert yes_share({"是": -1.0}) is None


class ConfidentModel(BaseChatModel):
    """Streams a fixed answer, reports log-probabilities as the local model does, and
    answers the self-check; keeps what it was asked."""

    answer: str
    yes: float = 0.8
    asked: list[list[BaseMessage]] = Field(default_factory=list)
    checks: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "confident"

    @property
    def last_stats(self) -> dict[str, Any]:
        return {"completion_tokens": 9, **RECORDED}

    def yes_probability(self, messages: list[BaseMessage]) -> float | None:
        self.checks.append(messages)
        return self.yes

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.answer))])

    def _stream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        self.asked.append(messages)
        yield ChatGenerationChunk(message=AIMessageChunk(content=self.answer))


def test_a_tape_keeps_the_confidence_and_the_self_check(tmp_path: Path) -> None:
    inner = ConfidentModel(answer="往来酒店[1]。")
    tape = Tape()
    recorder = RecordingChatModel(inner=inner, tape=tape)
    prompt = [HumanMessage(content="哪家酒店？")]
    check = [*prompt, AIMessage("往来酒店[1]。"), HumanMessage(content="是否写明？")]
    assert recorder.invoke(prompt).content == "往来酒店[1]。"
    assert recorder.yes_probability(check) == 0.8
    tape.write(tmp_path / "tape.json")
    replay = ReplayChatModel(tape=Tape.read(tmp_path / "tape.json"))
    assert replay.invoke(prompt).content == "往来酒店[1]。"
    assert replay.last_stats["token_logprobs"][2] == ["2", -2.3]
    assert "completion_tokens" not in replay.last_stats  # timings are not confidence
    assert replay.yes_probability(check) == 0.8
    old = ReplayChatModel(tape=Tape({next(iter(tape.replies)): "往来酒店[1]。"}))
    assert old.invoke(prompt).content == "往来酒店[1]。" and old.last_stats == {}


def test_the_logits_processor_reads_greedy_log_probabilities() -> None:
    class Vocabulary:  # token ids 0..3, "是" = 2 and "否" = 3
        def tokenize(self, text: bytes, add_bos: bool, special: bool) -> list[int]:
            return {"是": [2], "否": [3]}.get(text.decode(), [])

        def detokenize(self, tokens: list[int]) -> bytes:
            return ["甲", "乙", "是", ""][tokens[0]].encode()

    processor = TokenConfidence(Vocabulary(), ["是", "否"])
    first = np.array([0.0, 1.0, 3.0, 2.0], dtype=np.float32)
    second = np.array([5.0, 0.0, 0.0, 0.0], dtype=np.float32)
    assert processor(None, first) is first and processor(None, second) is second
    norm = math.log(sum(math.exp(x) for x in first))
    assert processor.first["是"] == pytest.approx(3.0 - norm, abs=1e-5)
    assert processor.first["否"] == pytest.approx(2.0 - norm, abs=1e-5)
    assert [piece for piece, _ in processor.pieces(Vocabulary())] == ["是", "甲"]
