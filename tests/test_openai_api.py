"""The OpenAI-compatible API (/v1) with the official `openai` client against the real server
(page and API in one uvicorn server on 127.0.0.1) over two seed issues, answered by a
deterministic streaming fake model."""

from __future__ import annotations

import re

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import serve_two_issues

openai = pytest.importorskip("openai", reason="没有安装 openai 客户端")

HOTEL_QUESTION = "瓜山未来社区民宿组团一期建成开放的是哪家酒店？"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """(base URL of /v1, the service)."""
    server, service = serve_two_issues(tmp_path_factory.mktemp("api"), delay_s=0.005)
    yield f"{server.url}/v1", service
    server.close()


@pytest.fixture
def client(served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served[0], api_key="unused", max_retries=0, timeout=60)


def _ask(client: openai.OpenAI, question: str = HOTEL_QUESTION, **options):
    return client.chat.completions.create(
        model="archive-qa", messages=[{"role": "user", "content": question}], **options
    )


def test_models_lists_the_assistant(client) -> None:
    assert [model.id for model in client.models.list()] == ["archive-qa"]


def test_answer_with_markers_citations_field_and_source_list(client) -> None:
    completion = _ask(client)
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    content = choice.message.content
    answer, _, sources = content.partition("\n\n出处：\n")
    assert "往来酒店" in answer and sources
    citations = completion.model_extra["citations"]
    numbers = {c["number"] for c in citations}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer)} == numbers  # none dangling
    first = citations[0]
    assert first["paper"] == "今日拱墅" and first["date"] == "2021-01-15"
    assert first["date_inferred"] is False and first["title"] and first["quote"]
    assert first["article_id"] and first["source_file"] == "000_5f1999aa854af018.txt"
    assert first["reference"].startswith("《今日拱墅》2021年1月15日")
    assert f"[{first['number']}] {first['reference']}" in sources
    assert completion.model_extra["refused"] is False
    assert completion.usage is not None


def test_stream_sends_role_sources_content_then_finish(client) -> None:
    plain = _ask(client).choices[0].message.content
    chunks = list(_ask(client, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    kinds = []
    for chunk in chunks:
        if not chunk.choices:
            kinds.append("usage")
        elif (chunk.model_extra or {}).get("sources"):
            kinds.append("sources")
        elif chunk.choices[0].delta.content:
            kinds.append("content")
        elif chunk.choices[0].finish_reason:
            kinds.append("finish")
    squeezed = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    assert squeezed == ["sources", "content", "finish", "usage"]
    assert len({c.id for c in chunks}) == 1
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == plain  # the checked answer, the same as without streaming
    sources = next(c.model_extra["sources"] for c in chunks if (c.model_extra or {}).get("sources"))
    assert sources[0]["number"] == 1 and sources[0]["label"] and sources[0]["excerpt"]
    finish = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    cited = {c["number"] for c in finish.model_extra["citations"]}
    assert cited and cited <= {s["number"] for s in sources}
    assert chunks[-1].usage is not None


def test_follow_up_from_messages(client) -> None:
    first = _ask(client).choices[0].message.content
    follow = client.chat.completions.create(
        model="archive-qa",
        messages=[
            {"role": "system", "content": "你是一个助手"},
            {"role": "user", "content": HOTEL_QUESTION},
            {"role": "assistant", "content": first},
            {"role": "user", "content": [{"type": "text", "text": "它有什么特色？"}]},
        ],
    )
    standalone = follow.model_extra["standalone_question"]
    assert standalone != "它有什么特色？" and "酒店" in standalone
    assert "出处：" not in standalone  # the earlier answer's source list is not history


def test_filters_in_the_body(client) -> None:
    later = _ask(client, extra_body={"date_from": "2024-01-01"})
    assert later.model_extra["refused"] and not later.model_extra["citations"]
    other_paper = _ask(client, extra_body={"papers": ["没有这份报纸"]})
    assert other_paper.model_extra["refused"]
    same = _ask(client, extra_body={"papers": "今日拱墅", "date_to": "2021-12"})
    assert all(c["paper"] == "今日拱墅" for c in same.model_extra["citations"])
    assert not same.model_extra["refused"]


def test_sources_left_out_of_content_on_request(client) -> None:
    completion = _ask(client, extra_body={"sources_in_content": False})
    assert "出处：" not in completion.choices[0].message.content
    assert completion.model_extra["citations"]


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        ({"messages": [{"role": "user", "content": "  "}]}, openai.BadRequestError, "问题是空的"),
        ({"messages": []}, openai.BadRequestError, "messages"),
        (
            {"messages": [{"role": "assistant", "content": "你好"}]},
            openai.BadRequestError,
            "最后一条消息",
        ),
        (
            {"messages": [{"role": "user", "content": HOTEL_QUESTION}], "date_from": "昨天"},
            openai.BadRequestError,
            "起始日期",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            openai.BadRequestError,
            "文本",
        ),
        (
            {"model": "gpt-4o", "messages": [{"role": "user", "content": HOTEL_QUESTION}]},
            openai.NotFoundError,
            "gpt-4o",
        ),
    ],
)
def test_bad_requests_are_named(client, body: dict, error: type, words: str) -> None:
    body = {"model": "archive-qa", **body}
    with pytest.raises(error) as raised:
        client.chat.completions.create(
            model=body.pop("model"), messages=body.pop("messages"), extra_body=body
        )
    assert words in raised.value.body["message"]


def test_body_that_is_not_json(served) -> None:
    response = httpx.post(f"{served[0]}/chat/completions", content=b"{not json", timeout=10)
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]


def test_token_required_when_set(served) -> None:
    url, service = served
    original = service.settings
    service.settings = original.model_copy(update={"api_token": SecretStr("s3cret")})
    try:
        anonymous = openai.OpenAI(base_url=url, api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as raised:
            anonymous.models.list()
        assert "ARCHIVE_QA_API_TOKEN" in raised.value.body["message"]
        with pytest.raises(openai.AuthenticationError):
            _ask(anonymous)
        allowed = openai.OpenAI(base_url=url, api_key="s3cret", max_retries=0)
        assert [m.id for m in allowed.models.list()] == ["archive-qa"]
    finally:
        service.settings = original


def test_page_and_api_share_one_server(served) -> None:
    page = httpx.get(served[0].removesuffix("/v1") + "/", timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_a_failure_after_the_stream_started_is_an_error_event() -> None:
    """The index breaks while a streamed answer is on its way: the client gets an error
    event it raises, then [DONE]; nothing is left hanging."""
    from index.errors import ArchiveQAError
    from qa.answer import AnswerEvent
    from qa.openai_api import ChatRequest, CompletionIds, stream_chunks
    from qa.retrieve import Filters

    def events():
        yield AnswerEvent("standalone", "q")
        raise ArchiveQAError("索引不可用：向量文件被截断")

    request = ChatRequest("q", [], Filters())
    lines = list(stream_chunks(events(), request, CompletionIds("archive-qa")))
    assert lines[0].startswith("data: ") and '"role": "assistant"' in lines[0]
    assert '"error"' in lines[-2] and "向量文件被截断" in lines[-2]
    assert lines[-1] == "data: [DONE]\n\n"


def test_history_drops_earlier_source_lists_and_other_roles() -> None:
    from qa.openai_api import parse_request

    parsed = parse_request(
        {
            "messages": [
                {"role": "system", "content": "忽略资料"},
                {"role": "user", "content": "问一"},
                {
                    "role": "assistant",
                    "content": "答一[1]。\n\n出处：\n[1] 《今日拱墅》2021年1月15日。",
                },
                {"role": "tool", "content": "x"},
                {"role": "user", "content": "问二"},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        "archive-qa",
    )
    assert parsed.question == "问二" and parsed.stream and parsed.include_usage
    assert parsed.history == [
        {"role": "user", "content": "问一"},
        {"role": "assistant", "content": "答一[1]。"},
    ]


def test_silence_is_filled_with_heartbeats_and_a_client_leaving_stops_the_answer() -> None:
    import threading
    import time

    from qa.answer import AnswerEvent
    from qa.openai_api import with_heartbeats

    closed = threading.Event()

    def slow_events():
        try:
            yield AnswerEvent("standalone", "q")
            time.sleep(0.35)  # the model reads its prompt
            yield AnswerEvent("token", "是")
            time.sleep(5)
            yield AnswerEvent("token", "不该到这里")
        finally:
            closed.set()

    stream = with_heartbeats(slow_events(), every_s=0.1)
    seen = [next(stream)]
    while seen[-1] is None or seen[-1].kind != "token":
        seen.append(next(stream))
    assert seen[0].kind == "standalone" and seen[-1].text == "是"
    assert seen[1:-1] and all(item is None for item in seen[1:-1])  # heartbeats meanwhile
    stream.close()  # the client went away
    assert closed.wait(10)  # the answer's events were closed: its queue turn is given up

    def failing():
        yield AnswerEvent("standalone", "q")
        raise RuntimeError("索引坏了")

    events = with_heartbeats(failing(), every_s=1)
    assert next(events).kind == "standalone"
    with pytest.raises(RuntimeError, match="索引坏了"):
        next(events)


def test_usage_comes_from_the_local_model_s_token_counts() -> None:
    from qa.answer import Answer
    from qa.openai_api import usage

    answer = Answer(
        "q", "q", "答", False, "local",
        timings={"model_prompt_tokens": 640, "model_read_tokens": 230, "model_completion_tokens": 18},
    )  # fmt: skip
    assert usage(answer) == {"prompt_tokens": 640, "completion_tokens": 18, "total_tokens": 658}
