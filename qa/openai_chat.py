"""An OpenAI-compatible endpoint as the answer model (llama.cpp's server, vLLM, Ollama, a
cloud API), asked for token log-probabilities: the answer reads them from the stream as the
model's confidence (qa/confidence.py), and the self-check from the first token's
alternatives. Imported only when the openai backend is chosen.
"""

from __future__ import annotations

import logging

from langchain_core.messages import BaseMessage
from langchain_openai import ChatOpenAI

from qa.confidence import YES_NO, yes_share

logger = logging.getLogger(__name__)

TOP_LOGPROBS = 5  # alternatives an endpoint returns per token (the refusal and the self-check)
ABSENT_LOGPROB = -30.0  # of a word not among an endpoint's top alternatives


class OpenAIChat(ChatOpenAI):
    """An OpenAI-compatible endpoint (llama.cpp's server, vLLM, Ollama, a cloud API). With
    ``logprobs`` it streams each token's log-probability (read by the answer as the model's
    confidence) and answers the self-check from the first token's alternatives."""

    def yes_probability(self, messages: list[BaseMessage]) -> float | None:
        if not self.logprobs:
            return None
        try:  # servers that know only max_tokens get it too (llama.cpp's does)
            reply = self.invoke(messages, max_completion_tokens=1, extra_body={"max_tokens": 1})
        except Exception as exc:  # the answer stands without its self-check
            logger.warning("self-check failed: %s: %s", type(exc).__name__, exc)
            return None
        items = (reply.response_metadata.get("logprobs") or {}).get("content") or []
        if not items:
            return None
        top = {t["token"].strip(): t["logprob"] for t in items[0].get("top_logprobs") or []}
        if not any(word in top for word in YES_NO):
            return None
        return yes_share({word: top.get(word, ABSENT_LOGPROB) for word in YES_NO})
