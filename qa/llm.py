"""Chat models behind LangChain's ``BaseChatModel``: the local GGUF through llama.cpp, or any
OpenAI-compatible endpoint. ``none`` means extractive answers (no model at all).

Adding a backend is one branch in `make_chat_model`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from qa.errors import ArchiveQAError
from qa.settings import Settings

logger = logging.getLogger(__name__)

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
# One llama.cpp computation at a time in this process, across model instances (the answer
# and condense contexts): each wants every core, and two at once on 2 cores spin against
# each other far slower than one after the other.
_LLAMA_LOCK = threading.Lock()
LOOP_REPEATS = 3  # a piece written this many times in a row is a decoding loop
LOOP_PIECE_CHARS = (5, 80)  # shortest and longest repeated piece looked for


class LlamaCppChat(BaseChatModel):
    """A GGUF model run in-process by llama-cpp-python, with token streaming.

    llama.cpp keeps the evaluated prompt in its cache, so prompts that share a prefix (the
    same system message) skip re-reading it.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: Path
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 200
    temperature: float = 0.0
    _llama: Any = PrivateAttr(default=None)

    def model_post_init(self, context: Any) -> None:
        from llama_cpp import Llama  # heavy import, only for the local model

        if not self.model_path.is_file():
            raise ArchiveQAError(
                "找不到本地语言模型文件；请运行 make setup 安装，或设置 ARCHIVE_QA_LLM_MODEL_PATH",
                source=str(self.model_path),
            )
        try:
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_batch=512,
                flash_attn=True,  # ~50 instead of ~38 prompt tokens/s on 2 AVX2 cores
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ArchiveQAError(
                f"本地语言模型无法加载（文件可能已损坏：{exc}）；请重新运行 make setup",
                source=str(self.model_path),
            ) from exc

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _request(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        return {
            "messages": [
                {"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages
            ],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": stop or [],
        }

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
        with _LLAMA_LOCK:
            for part in self._llama.create_chat_completion(
                **self._request(messages, stop), stream=True
            ):
                token = part["choices"][0]["delta"].get("content") or ""
                if not token:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
                if run_manager:
                    run_manager.on_llm_new_token(token, chunk=chunk)
                yield chunk

    def warm_up(self, messages: list[BaseMessage]) -> None:
        """Read ``messages`` once, so that prompts which start the same way (the fixed
        system prompt) skip that part; the first question no longer pays for it."""
        with _LLAMA_LOCK:
            self._llama.create_chat_completion(**self._request(messages, None) | {"max_tokens": 1})


def make_chat_model(
    settings: Settings, backend: str | None = None, context_tokens: int | None = None
) -> BaseChatModel | None:
    """The configured chat model, or None for extractive answers.

    Each local model object keeps its own evaluated prompt prefix; the weights are
    memory-mapped, so a second object for another prompt shares them.

    Raises ArchiveQAError (Chinese, naming the cause) when the model cannot be set up.
    """
    backend = backend or settings.llm
    if backend == "none":
        return None
    if backend == "local":
        return LlamaCppChat(
            model_path=settings.llm_model_path,
            n_ctx=context_tokens or settings.llm_context_tokens,
            n_threads=settings.threads,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )
    if backend == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key.get_secret_value() or "not-needed",
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_completion_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
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
