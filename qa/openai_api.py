"""An OpenAI-compatible chat API over the archive: ``POST /v1/chat/completions`` (plain and
streamed) and ``GET /v1/models``, for chat clients and scripts that already speak it.

The message content is the checked answer with its ``[n]`` markers and, for clients that
show only text, a short source list after it; the citations also travel as a structured
``citations`` field. A stream sends the passages being read first (``sources``), keeps the
connection alive (an SSE comment every 5 s of silence) while the question waits or the model
writes, and then the checked answer: the model's raw words
are not streamed, because the citation check may re-point or drop markers and the verdict
may replace the text, and a stream cannot take back what it has sent.

Filters go in the request body beside ``messages``: ``papers`` (a name or list),
``date_from`` and ``date_to``; ``sources_in_content: false`` leaves the source list out.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from index.errors import ArchiveQAError
from qa.answer import Answer, AnswerEvent
from qa.api_shapes import citation_json, parse_filters
from qa.cite_style import citation_list
from qa.question import prepare_question
from qa.retrieve import Filters
from qa.service import ArchiveService

logger = logging.getLogger(__name__)

SOURCES_HEADING = "出处："
# How an earlier answer's source list starts in the content: cut when it comes back as history.
_SOURCES_BLOCK = re.compile(r"\n\n" + SOURCES_HEADING + r"\n\[\d+\] .*\Z", re.S)
HEARTBEAT_S = 5.0  # an SSE comment when nothing else was sent for this long
_CHAT_ROLES = ("user", "assistant")
_OTHER_ROLES = ("system", "developer", "tool", "function")


class ApiError(Exception):
    """A request the API refuses, in OpenAI's error shape."""

    def __init__(self, status: int, message: str, kind: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "code": self.code}}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status)


@dataclass
class ChatRequest:
    question: str
    history: list[dict[str, str]]
    filters: Filters
    stream: bool = False
    include_usage: bool = False
    sources_in_content: bool = True


def message_text(content: Any) -> str:
    """The text of a message: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        ]
        if len(texts) == len(content) and all(isinstance(t, str) for t in texts):
            return "".join(texts)
    raise ApiError(400, "消息内容必须是文本，或只含 text 部分的列表", "invalid_request_error")


def without_sources(text: str) -> str:
    """An earlier answer as the model should see it in a follow-up: no source list."""
    return _SOURCES_BLOCK.sub("", text)


def parse_request(body: Any, model_name: str) -> ChatRequest:
    """Check a /v1/chat/completions body; every refusal names what is wrong, in Chinese."""
    if not isinstance(body, dict):
        raise ApiError(400, "请求体必须是 JSON 对象", "invalid_request_error")
    model = body.get("model")
    if model not in (None, "", model_name):
        raise ApiError(
            404,
            f"没有模型“{model}”，本接口只有“{model_name}”",
            "invalid_request_error",
            "model_not_found",
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages 必须是非空列表", "invalid_request_error")
    chat: list[dict[str, str]] = []
    for number, message in enumerate(messages, start=1):
        role = message.get("role") if isinstance(message, dict) else None
        if role in _OTHER_ROLES:
            continue  # the assistant's own instructions stay in charge
        if role not in _CHAT_ROLES:
            raise ApiError(
                400, f"第 {number} 条消息的 role 必须是 user 或 assistant", "invalid_request_error"
            )
        chat.append({"role": role, "content": message_text(message.get("content"))})
    if not chat or chat[-1]["role"] != "user":
        raise ApiError(400, "最后一条消息必须是用户的问题（role 为 user）", "invalid_request_error")
    history = [{"role": m["role"], "content": without_sources(m["content"])} for m in chat[:-1]]
    options = body.get("stream_options") or {}
    try:
        filters = parse_filters(body.get("papers"), body.get("date_from"), body.get("date_to"))
    except ArchiveQAError as exc:
        raise ApiError(400, exc.message, "invalid_request_error") from exc
    return ChatRequest(
        question=chat[-1]["content"],
        history=history,
        filters=filters,
        stream=bool(body.get("stream")),
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        sources_in_content=body.get("sources_in_content", True) is not False,
    )


def answer_content(answer: Answer, with_sources: bool) -> str:
    """The message content: notices, the answer with markers, then the source list."""
    lines = [f"提示：{notice}" for notice in answer.notices]
    lines.append(answer.text)
    content = "\n\n".join(lines)
    if with_sources and answer.citations:
        listed = citation_list((c.number, c.reference) for c in answer.citations)
        content += f"\n\n{SOURCES_HEADING}\n{listed}"
    return content


def usage(answer: Answer) -> dict[str, int]:
    """Token counts as the local model reports them (0 where a backend does not say)."""
    prompt = int(answer.timings.get("model_prompt_tokens", 0))
    completion = int(answer.timings.get("model_completion_tokens", 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def answer_extras(answer: Answer) -> dict[str, Any]:
    """Fields beside the standard ones: what a client needs to show and check sources."""
    return {
        "citations": [citation_json(c) for c in answer.citations],
        "refused": answer.refused,
        "notices": answer.notices,
        "standalone_question": answer.standalone_question,
        "leads": answer.leads,
    }


class CompletionIds:
    """The id, creation time and model name every object of one completion shares."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}


def completion(answer: Answer, request: ChatRequest, ids: CompletionIds) -> dict[str, Any]:
    return {
        **ids.head("chat.completion"),
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer_content(answer, request.sources_in_content),
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage(answer),
        **answer_extras(answer),
    }


def _sse(data: dict[str, Any] | str) -> str:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n"


def content_pieces(content: str) -> list[str]:
    """The content cut after each sentence end or line break, for the stream's chunks."""
    return [piece for piece in re.split(r"(?<=[。！？；\n])", content) if piece]


_END = object()


def with_heartbeats(events: Iterator[AnswerEvent], every_s: float) -> Iterator[AnswerEvent | None]:
    """``events`` as they come, and None whenever none has come for ``every_s`` seconds (the
    model may read a long prompt, or wait its turn, for a minute without a word).

    The events are drawn in a thread of their own. When the consumer stops early (the client
    went away), the events are closed after the one being drawn, which lets the question
    leave the model's queue and stops the model."""
    handoff: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()

    def draw() -> None:
        try:
            for event in events:
                handoff.put(event)
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, raised there
            handoff.put(exc)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
            handoff.put(_END)

    threading.Thread(target=draw, name="api-answer", daemon=True).start()
    try:
        while True:
            try:
                item = handoff.get(timeout=every_s)
            except queue.Empty:
                yield None
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def stream_chunks(
    events: Iterator[AnswerEvent], request: ChatRequest, ids: CompletionIds
) -> Iterator[str]:
    """The server-sent events of a streamed completion, in OpenAI's order: the role, then
    content, then the finish reason; ``[DONE]`` last. A failure after the stream started is
    sent as an ``error`` event, which the openai client raises."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _sse({**ids.head("chat.completion.chunk"), "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": ""})
    try:
        for event in with_heartbeats(events, HEARTBEAT_S):
            if event is None:  # a comment: keeps clients and proxies from closing the stream
                yield ": 正在生成回答\n\n"
            elif event.kind == "sources":
                yield chunk({}, sources=event.passages)
            elif event.kind == "queued":
                yield f": {event.text}\n\n"
            elif event.kind == "answer" and event.answer is not None:
                answer = event.answer
                for piece in content_pieces(answer_content(answer, request.sources_in_content)):
                    yield chunk({"content": piece})
                yield chunk({}, "stop", **answer_extras(answer))
                if request.include_usage:
                    yield _sse(
                        {**ids.head("chat.completion.chunk"), "choices": [], "usage": usage(answer)}
                    )
    except ArchiveQAError as exc:
        yield _sse(ApiError(503, exc.message, "server_error").body())
    except Exception:  # the server keeps serving; the client learns the answer failed
        logger.exception("streamed answer failed")
        yield _sse(ApiError(500, "生成回答时发生内部错误，请重试", "server_error").body())
    yield _sse("[DONE]")


def openai_router(service: ArchiveService) -> APIRouter:
    """The /v1 routes over ``service``; a bearer token is required when settings name one.
    Settings are read at each request (the service's settings may be replaced)."""

    def check_token(request: Request) -> None:
        settings = service.settings
        # A page behind a password must not be open through its API: then the password
        # is the token, unless a token of its own is set.
        token = settings.api_token.get_secret_value() or settings.app_password.get_secret_value()
        if not token:
            return
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), token):
            raise ApiError(
                401,
                "缺少或错误的访问令牌：请在 Authorization 头中写 Bearer 加上 ARCHIVE_QA_API_TOKEN"
                "（未设置时为网页密码 ARCHIVE_QA_APP_PASSWORD）的值",
                "invalid_request_error",
                "invalid_api_key",
            )

    router = APIRouter(prefix="/v1", dependencies=[Depends(check_token)])

    @router.get("/models")
    def models() -> dict[str, Any]:
        settings = service.settings
        return {
            "object": "list",
            "data": [
                {
                    "id": settings.api_model_name,
                    "object": "model",
                    "created": 0,
                    "owned_by": "archive-qa",
                }
            ],
        }

    @router.post("/chat/completions")
    async def chat_completions(request: Request) -> Any:
        settings = service.settings
        try:
            body = await request.json()
        except ValueError:
            return error_response(ApiError(400, "请求体不是合法的 JSON", "invalid_request_error"))
        try:
            parsed = parse_request(body, settings.api_model_name)
        except ApiError as exc:
            return error_response(exc)
        try:  # a question with nothing to ask is the client's fault, before any stream
            prepare_question(parsed.question, settings.max_question_chars)
        except ArchiveQAError as exc:
            return error_response(ApiError(400, exc.message, "invalid_request_error"))
        ids = CompletionIds(settings.api_model_name)
        if parsed.stream:
            events = service.stream(parsed.question, parsed.history, parsed.filters)
            return StreamingResponse(
                stream_chunks(events, parsed, ids),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return await _answer_in_thread(service, parsed, ids)

    return router


async def _answer_in_thread(
    service: ArchiveService, request: ChatRequest, ids: CompletionIds
) -> JSONResponse:
    try:
        answer = await run_in_threadpool(
            service.ask, request.question, request.history, request.filters
        )
    except ArchiveQAError as exc:  # the index or the model is not usable now
        return error_response(ApiError(503, exc.message, "server_error"))
    return JSONResponse(completion(answer, request, ids))


def add_openai_api(app: FastAPI, service: ArchiveService) -> None:
    """Serve the /v1 routes on ``app``, refusals in OpenAI's error shape."""

    async def refused(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    app.add_exception_handler(ApiError, refused)
    app.include_router(openai_router(service))
