"""报刊问答 web app (Gradio Blocks): chat with cited answers, filters, and an archive tab.

Thin over `qa`: every answer, ingest and delete goes through `qa.service.ArchiveService`.
Run `python app.py` or `archive-qa serve` (binds 127.0.0.1:7860 by default; see README for
settings): the page at /, the OpenAI-compatible API (qa/openai_api.py) at /v1.
"""

from __future__ import annotations

import logging
import threading
import time
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr
import uvicorn
from fastapi import FastAPI

from index.errors import ArchiveQAError
from qa.api_shapes import answer_json, parse_filters, valid_history
from qa.cards import render_answer, render_pending
from qa.openai_api import add_openai_api
from qa.service import ArchiveService, open_service
from qa.settings import PROJECT_ROOT, Settings, get_settings

logger = logging.getLogger(__name__)

SOURCE_HEADERS = ["文件", "报纸", "日期", "期号", "文章", "段落"]
CSS_PATH = PROJECT_ROOT / "static" / "app.css"
JS_PATH = PROJECT_ROOT / "static" / "app.js"
TRACK_TQDM = gr.Progress(track_tqdm=True)  # ingest's tqdm bars shown in the page
SERVER_START_TIMEOUT_S = 30.0


def build_app(service: ArchiveService) -> gr.Blocks:
    def source_rows() -> list[list[Any]]:
        return [
            [r.file, r.paper, r.date, r.issue, r.articles, r.passages] for r in service.sources()
        ]

    def refresh() -> tuple[Any, ...]:
        files = [row[0] for row in source_rows()]
        return (
            service.status(),
            gr.update(choices=service.papers()),
            source_rows(),
            gr.update(choices=files, value=[]),
        )

    def example_samples() -> list[list[str]]:
        return [[q] for q in service.example_questions()]

    def while_indexing() -> tuple[Any, ...]:
        """Timer tick during the first-start indexing: progress, what is indexed so far,
        and the timer itself, which stops once indexing is done."""
        samples = example_samples()
        return (
            *refresh(),
            gr.Dataset(samples=samples, visible=bool(samples)),
            gr.Timer(active=service.indexing),
        )

    def respond(
        message: str,
        chat: list[dict[str, Any]],
        history: list[dict[str, str]],
        papers: list[str] | None,
        date_from: str,
        date_to: str,
    ):
        chat = [*chat, {"role": "user", "content": escape(message or "")}]
        chat.append({"role": "assistant", "content": render_pending()})
        yield "", chat, history
        try:
            filters = parse_filters(papers, date_from, date_to)
            partial, reading, queued = "", [], None
            for event in service.stream(message, history, filters):
                if event.kind == "queued":
                    queued = event.text
                elif event.kind == "sources":  # the evidence, readable while the model writes
                    reading = event.passages
                elif event.kind == "token":
                    partial += event.text
                elif event.kind == "standalone":
                    queued = None  # its turn: the model reads the question now
                if event.kind in ("queued", "sources", "token", "standalone"):
                    chat[-1]["content"] = render_pending(partial, reading, queued)
                    yield "", chat, history
                elif event.kind == "answer" and event.answer is not None:
                    answer = event.answer
                    turn = str(len(chat))
                    chat[-1]["content"] = render_answer(answer, turn, service.article)
                    history = [
                        *history,
                        {"role": "user", "content": answer.question},
                        {"role": "assistant", "content": answer.text},
                    ]
        except ArchiveQAError as exc:
            chat[-1]["content"] = f'<div class="aq-error">出错了：{escape(exc.message)}</div>'
        except Exception:  # the app keeps serving whatever one question does
            logger.exception("answer failed")
            chat[-1]["content"] = (
                '<div class="aq-error">出错了：处理这个问题时发生内部错误，请重试</div>'
            )
        yield "", chat, history

    def ask_api(
        question: str | None = None, history: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        """Answer a question; history is a list of {role, content} messages (may be empty)."""
        if not isinstance(question, str):
            raise gr.Error("请求格式不对：第一个参数 question 必须是问题文本（字符串）")
        if not valid_history(history):
            raise gr.Error(
                "请求格式不对：第二个参数 history 必须是列表，每项为 "
                '{"role": "user" 或 "assistant", "content": 文本}'
            )
        try:
            return answer_json(service.ask(question, history or []))
        except ArchiveQAError as exc:
            raise gr.Error(exc.message) from exc

    def ingest(files: list[str] | None, progress: gr.Progress = TRACK_TQDM) -> tuple[Any, ...]:
        if not files:
            return ("请先选择要上传的文件", *refresh())
        try:
            report = service.ingest_files([Path(f) for f in files], progress=True)
        except ArchiveQAError as exc:
            return (f"导入失败：{escape(exc.message)}", *refresh())
        lines = [
            f"- ✓ {escape(issue.source_file)}：{len(issue.articles)} 篇文章"
            for issue in report.issues
        ]
        lines += [f"- ✗ {escape(name)}：{escape(reason)}" for name, reason in report.skipped]
        return ("\n".join(lines), *refresh())

    def delete(names: list[str] | None) -> tuple[Any, ...]:
        if not names:
            return ("请先选择要删除的来源", *refresh())
        try:
            missing = service.remove(names)
        except ArchiveQAError as exc:
            return (f"删除失败：{escape(exc.message)}", *refresh())
        lines = [f"- ✓ 已删除 {escape(n)}" for n in names if n not in missing]
        lines += [f"- ✗ {escape(n)}：索引中没有这个来源" for n in missing]
        return ("\n".join(lines), *refresh())

    with gr.Blocks(title="报刊问答") as demo:
        gr.Markdown("# 报刊问答\n从地方报纸档案中查找答案，每个回答都注明出处，点击 [n] 查看原文。")
        status = gr.Markdown(service.status(), elem_id="aq-status")
        history = gr.State([])
        with gr.Tabs():
            with gr.Tab("问答", id="chat"), gr.Row():
                with gr.Column(scale=3, min_width=320):
                    chatbot = gr.Chatbot(
                        label="对话",
                        height=560,
                        elem_id="aq-chat",
                        feedback_options=None,
                        placeholder="请在下方输入问题，例如某次会议的内容、某个项目的进展。",
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            placeholder="输入问题，按回车发送",
                            show_label=False,
                            scale=5,
                            elem_id="aq-question",
                        )
                        send = gr.Button("发送", variant="primary", scale=1, elem_id="aq-send")
                    new_chat = gr.Button("新对话", size="sm", elem_id="aq-new")
                    samples = example_samples()
                    examples = gr.Dataset(
                        components=[question],
                        samples=samples,
                        label="示例问题",
                        visible=bool(samples),
                        elem_id="aq-examples",
                    )
                with gr.Column(scale=1, min_width=240):
                    gr.Markdown("### 筛选")
                    papers = gr.Dropdown(
                        choices=service.papers(),
                        multiselect=True,
                        label="报纸",
                        elem_id="aq-papers",
                    )
                    date_from = gr.Textbox(
                        label="起始日期", placeholder="例如 2020-01-01", elem_id="aq-date-from"
                    )
                    date_to = gr.Textbox(
                        label="截止日期", placeholder="例如 2020-12-31", elem_id="aq-date-to"
                    )
            with gr.Tab("档案管理", id="archive"):
                upload = gr.File(
                    label="上传报纸文件（.txt .md .html .htm .pdf，可多选）",
                    file_count="multiple",
                    file_types=list(service.settings.supported_extensions),
                    type="filepath",
                    elem_id="aq-upload",
                )
                ingest_button = gr.Button("导入", variant="primary", elem_id="aq-ingest")
                ingest_result = gr.Markdown(elem_id="aq-ingest-result")
                sources = gr.Dataframe(
                    value=source_rows(),
                    headers=SOURCE_HEADERS,
                    interactive=False,
                    label="已导入的来源",
                    elem_id="aq-sources",
                )
                to_delete = gr.Dropdown(
                    choices=[row[0] for row in source_rows()],
                    multiselect=True,
                    label="选择要删除的来源",
                    elem_id="aq-delete-choice",
                )
                delete_button = gr.Button("删除所选", variant="stop", elem_id="aq-delete")
                delete_result = gr.Markdown(elem_id="aq-delete-result")

        chat_inputs = [question, chatbot, history, papers, date_from, date_to]
        chat_outputs = [question, chatbot, history]
        question.submit(respond, chat_inputs, chat_outputs, api_visibility="private")
        send.click(respond, chat_inputs, chat_outputs, api_visibility="private")
        new_chat.click(lambda: ([], []), None, [chatbot, history], api_visibility="private")
        refreshed = [status, papers, sources, to_delete]
        ingest_button.click(ingest, [upload], [ingest_result, *refreshed], api_name="ingest")
        delete_button.click(delete, [to_delete], [delete_result, *refreshed], api_name="delete")
        demo.load(refresh, None, refreshed, api_visibility="private")
        examples.click(lambda sample: sample[0], examples, question, api_visibility="private")
        timer = gr.Timer(2.0, active=service.indexing)
        timer.tick(while_indexing, None, [*refreshed, examples, timer], api_visibility="private")
        gr.api(ask_api, api_name="ask")
    return demo


def page_options(settings: Settings) -> dict[str, Any]:
    """How the page is mounted: login, upload limit, style, script, system fonts."""
    password = settings.app_password.get_secret_value()
    return {
        "auth": (settings.app_user, password) if password else None,
        "max_file_size": f"{settings.max_upload_mb}mb",
        "css": CSS_PATH.read_text(encoding="utf-8"),
        "head": f"<script>{JS_PATH.read_text(encoding='utf-8')}</script>",
        "footer_links": ["api"],
        # System fonts only: the default theme fetches web fonts, and there is no internet.
        "theme": gr.themes.Default(
            font=[
                "Noto Sans CJK SC",
                "WenQuanYi Zen Hei",
                "PingFang SC",
                "system-ui",
                "sans-serif",
            ],
            font_mono=["ui-monospace", "monospace"],
        ),
    }


def server_app(settings: Settings, service: ArchiveService) -> FastAPI:
    """One ASGI app: the chat page at / and the OpenAI-compatible API at /v1, over the same
    service (one index, one model)."""
    api = FastAPI(title="报刊问答", docs_url=None, redoc_url=None, openapi_url=None)
    add_openai_api(api, service)
    demo = build_app(service)
    # The local model answers one question at a time: further questions wait in its own
    # queue (qa/turns.py), which shows them their place; an endpoint or extractive mode
    # serves them at once.
    demo.queue(default_concurrency_limit=settings.app_concurrency)
    return gr.mount_gradio_app(
        api,
        demo,
        path="/",
        server_name=settings.app_host,
        server_port=settings.app_port,
        **page_options(settings),
    )


def server_config(settings: Settings, service: ArchiveService) -> uvicorn.Config:
    return uvicorn.Config(
        server_app(settings, service),
        host=settings.app_host,
        port=settings.app_port,
        log_level="warning",
    )


class BackgroundServer:
    """The server in a thread of this process (tests, benchmarks); ``close`` stops it."""

    def __init__(self, settings: Settings, service: ArchiveService) -> None:
        self.server = uvicorn.Server(server_config(settings, service))
        self.url = f"http://{settings.app_host}:{settings.app_port}"
        self.thread = threading.Thread(target=self.server.run, name="web-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ArchiveQAError(
                    f"网页服务无法在 {self.url} 启动（端口被占用？）", source="ARCHIVE_QA_APP_PORT"
                )
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def main(settings: Settings | None = None) -> None:
    """Serve until interrupted (``python app.py``, ``archive-qa serve``)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    settings = settings or get_settings()
    try:
        service = open_service(settings, background=True)
    except ArchiveQAError as exc:
        raise SystemExit(f"错误：{exc}") from exc
    print(service.status(), flush=True)
    url = f"http://{settings.app_host}:{settings.app_port}"
    print(f"网页：{url}/  ｜  OpenAI 兼容接口：{url}/v1", flush=True)
    uvicorn.Server(server_config(settings, service)).run()


if __name__ == "__main__":
    main()
