"""Chat models behind LangChain's ``BaseChatModel``: the local GGUF through llama.cpp in its
own process, or any OpenAI-compatible endpoint. ``none`` means extractive answers (no model at all).

Adding a backend is one branch in `make_chat_model`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from index.errors import ArchiveQAError
from qa.confidence import YES_NO, yes_share
from qa.llm_process import ModelProcess, Timeouts, shared_process
from qa.llm_runtime import load_options
from qa.llm_worker import WorkerConfig
from qa.prompts import refusal_phrase
from qa.settings import Settings
from qa.turns import TurnQueue

logger = logging.getLogger(__name__)

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
LOOP_REPEATS = 3  # a piece written this many times in a row is a decoding loop
LOOP_PIECE_CHARS = (5, 80)  # shortest and longest repeated piece looked for
# The follow-up rewrite has its own llama.cpp context, so it does not evict the answer
# prompt's evaluated prefix (the weights are shared through mmap).
CONTEXT_TOKENS = {"condense": 1024}


@runtime_checkable
class SelfChecking(Protocol):
    """A chat model that can say how likely "是" is as the reply to a yes/no prompt (the
    local model, an OpenAI-compatible endpoint with logprobs, the tape models)."""

    def yes_probability(self, messages: list[BaseMessage]) -> float | None: ...


def message_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as the role/content dicts of a chat completion request."""
    return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]


class LlamaCppChat(BaseChatModel):
    """The local GGUF model, run by llama.cpp in its own supervised process
    (`qa.llm_process`), with token streaming. ``context`` names the llama.cpp context in
    that process: each keeps its evaluated prompt, so prompts that share a prefix (the same
    system message) skip re-reading it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    process: ModelProcess
    context: str = "answer"
    max_tokens: int = 200
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def queue(self) -> TurnQueue:
        """Questions waiting for this model, in order."""
        return self.process.queue

    @property
    def last_stats(self) -> dict[str, Any]:
        """Token counts and model seconds of the last completion (prompt_tokens,
        read_tokens, completion_tokens, first_token_s, total_s)."""
        return self.process.last_stats

    @property
    def restarts(self) -> int:
        """How often the model's process was restarted after a failure."""
        return max(self.process.starts - 1, 0)

    def unavailable(self) -> str | None:
        """Why the local model was given up (crashes in a row), or None."""
        return self.process.broken

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        tokens = self.process.chat(
            self.context,
            message_dicts(messages),
            self.max_tokens,
            self.temperature,
            stop,
            watch=[refusal_phrase()],
        )
        for token in tokens:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk

    def warm_up(self, messages: list[BaseMessage]) -> None:
        """Read ``messages`` once (and again after a restart of the model process), so
        that prompts which start the same way skip that part."""
        self.process.warm_up(self.context, message_dicts(messages))

    def yes_probability(self, messages: list[BaseMessage]) -> float | None:
        """P("是") against P("否") as the first token of the reply to ``messages`` (a
        yes/no question after the answer: read on the cached prefix, one token written)."""
        for _ in self.process.chat(self.context, message_dicts(messages), 1, watch=YES_NO):
            pass
        return yes_share(self.process.last_stats.get("first_logprobs", {}))


def local_model_process(settings: Settings) -> ModelProcess:
    """The started worker for the configured GGUF; raises ArchiveQAError (Chinese, with the
    cause) when the file is missing, the set-up's self-check failed, or it will not load."""
    path = settings.llm_model_path
    if not path.is_file():
        raise ArchiveQAError(
            "找不到本地语言模型文件；请运行 make setup 安装，或设置 ARCHIVE_QA_LLM_MODEL_PATH",
            source=str(path),
        )
    config = WorkerConfig(
        model_path=str(path),
        threads=settings.threads,
        contexts=(("answer", settings.llm_context_tokens), *CONTEXT_TOKENS.items()),
        options=load_options(settings),
    )
    timeouts = Timeouts(
        settings.llm_start_timeout_s,
        settings.llm_first_token_timeout_s,
        settings.llm_token_timeout_s,
    )
    return shared_process(config, timeouts)


def make_chat_model(
    settings: Settings, backend: str | None = None, role: str = "answer"
) -> BaseChatModel | None:
    """The configured chat model for ``role`` (answer or condense), or None for extractive
    answers. Local models of both roles share one worker process.

    Raises ArchiveQAError (Chinese, naming the cause) when the model cannot be set up.
    """
    backend = backend or settings.llm
    if backend == "none":
        return None
    if backend == "local":
        return LlamaCppChat(
            process=local_model_process(settings),
            context=role,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )
    if backend == "openai":
        from qa.openai_chat import TOP_LOGPROBS, OpenAIChat  # langchain-openai: ~0.8 s to import

        return OpenAIChat(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key.get_secret_value() or "not-needed",
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_completion_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            logprobs=settings.openai_logprobs or None,
            top_logprobs=TOP_LOGPROBS if settings.openai_logprobs else None,
        )
    raise ArchiveQAError(f"未知的语言模型后端：{backend}（可选 local、openai、none）")


def loop_cut(text: str) -> int | None:
    """Where to cut ``text`` when it ends in a decoding loop (greedy decoding of a small
    model can write the same clause until the token limit), keeping one copy of the
    repeated piece; None when it does not. Pieces are clause-sized, so that numbers such
    as 88888888 or 1000000 are not taken for loops."""
    shortest, longest = LOOP_PIECE_CHARS
    for size in range(shortest, min(longest, len(text) // LOOP_REPEATS) + 1):
        piece = text[-size:]
        if len(set(piece.strip())) > 1 and text.endswith(piece * LOOP_REPEATS):
            copies = LOOP_REPEATS
            while text.endswith(piece * (copies + 1)):
                copies += 1
            return len(text) - size * (copies - 1)
    return None


def describe_failure(exc: BaseException, settings: Settings) -> str:
    """A Chinese message naming why a model call failed (never the API key)."""
    import openai

    if isinstance(exc, ArchiveQAError):
        return exc.message
    if isinstance(exc, openai.APITimeoutError):
        return f"语言模型服务超时（{settings.llm_timeout_s:g} 秒内没有回应）：{settings.openai_base_url}"
    if isinstance(exc, openai.APIConnectionError | ConnectionError):
        return f"无法连接语言模型服务：{settings.openai_base_url}"
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return "语言模型服务拒绝了密钥（401/403）；请检查 ARCHIVE_QA_OPENAI_API_KEY"
    if isinstance(exc, openai.NotFoundError):
        return f"语言模型服务上找不到模型 {settings.openai_model}（404）"
    if isinstance(exc, openai.APIStatusError):
        return f"语言模型服务返回错误（{exc.status_code}）"
    logger.warning("model call failed: %s: %s", type(exc).__name__, exc)
    return f"语言模型返回了无法解析的结果（{type(exc).__name__}）"
