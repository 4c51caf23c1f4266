"""Bad input of many kinds, through ingest, upload, ask and the eval command: each gets a
clear message or a sensible result, and the indexed sources are all still there after it."""

from __future__ import annotations

import json
import random
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from index.errors import ArchiveQAError
from index.ingest import ingest
from qa.reliability.report import Row
from qa.reliability.scratch import Scratch, run_cli, start_app, stop_app
from qa.service import ArchiveService

ARTICLE = (
    "临江报\n2024年3月5日\n\n春季植树活动在滨江公园举行\n"
    "本报讯 3月4日上午，全区干部群众200余人在滨江公园参加义务植树活动，共种下樱花、香樟等树苗1500株。\n"
)


def _pdf_with_pages(pages: int) -> bytes:
    """A valid PDF of ``pages`` empty pages, written by hand (no text layer)."""
    kids = " ".join(f"{3 + n} 0 R" for n in range(pages))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>",
        *["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"] * pages,
    ]
    return _pdf(objects)


def _pdf_nested(depth: int) -> bytes:
    """A PDF whose page carries an array nested ``depth`` deep (a parser recursion bomb)."""
    nested = "[" * depth + "]" * depth
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Bomb {nested} >>",
    ]
    return _pdf(objects)


def _pdf(objects: list[str]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _sparse_file(path: Path, megabytes: int) -> None:
    with path.open("wb") as handle:
        handle.truncate(megabytes * 1024 * 1024)


# name → (file name, how to write it, should it be indexed)
FILES: dict[str, tuple[str, Callable[[Path], None], bool]] = {
    "空文件": ("empty.txt", lambda p: p.write_bytes(b""), False),
    "只有空白": ("blank.txt", lambda p: p.write_text(" \n\t\n　\n", encoding="utf-8"), False),
    "100 MB 文件": ("huge.txt", lambda p: _sparse_file(p, 100), False),
    "二进制内容冒充 .txt": (
        "binary.txt",
        lambda p: p.write_bytes(random.Random(1).randbytes(4096)),
        False,
    ),
    "二进制内容冒充 .pdf": (
        "fake.pdf",
        lambda p: p.write_bytes(random.Random(2).randbytes(4096)),
        False,
    ),
    "不支持的扩展名 .docx": (
        "report.docx",
        lambda p: p.write_text(ARTICLE, encoding="utf-8"),
        False,
    ),
    "没有扩展名": ("README", lambda p: p.write_text(ARTICLE, encoding="utf-8"), False),
    "GBK 编码": ("gbk.txt", lambda p: p.write_bytes(ARTICLE.encode("gbk")), True),
    "GB18030 编码（含扩展字）": (
        "gb18030.txt",
        lambda p: p.write_bytes(ARTICLE.replace("樱花", "樱花㐀").encode("gb18030")),
        True,
    ),
    "UTF-16 带 BOM": ("utf16.txt", lambda p: p.write_bytes(ARTICLE.encode("utf-16")), True),
    "UTF-8 中夹杂坏字节": (
        "broken-utf8.txt",
        lambda p: p.write_bytes(
            ARTICLE.encode("utf-8")[:40] + b"\xff\xfe\xfa" + ARTICLE.encode("utf-8")[40:]
        ),
        True,
    ),
    "PDF 5000 页空白（无文字层）": (
        "pages.pdf",
        lambda p: p.write_bytes(_pdf_with_pages(5000)),
        False,
    ),
    "PDF 深度嵌套炸弹": ("nested.pdf", lambda p: p.write_bytes(_pdf_nested(50000)), False),
    "HTML 含脚本与事件处理器": (
        "script.html",
        lambda p: p.write_text(
            "<html><body onload=\"alert(1)\"><script>alert('x')</script>"
            '<h1 onclick="steal()">春季植树活动在滨江公园举行</h1>'
            "<p>本报讯 3月4日上午，全区干部群众200余人在滨江公园参加义务植树活动。</p>"
            '<img src=x onerror="alert(2)"></body></html>',
            encoding="utf-8",
        ),
        True,
    ),
    "HTML 没有文字": (
        "empty.html",
        lambda p: p.write_text("<html><body><img src=a.png></body></html>", encoding="utf-8"),
        False,
    ),
    "混合文字（阿拉伯文、表情、拉丁）": (
        "mixed.txt",
        lambda p: p.write_text(
            ARTICLE + "مرحبا بالعالم 🌸🌳 Hello world ελληνικά\n", encoding="utf-8"
        ),
        True,
    ),
    "文件名含表情": ("植树🌳活动.txt", lambda p: p.write_text(ARTICLE, encoding="utf-8"), True),
    "文件名含控制字符": (
        "ctrl\x07name.txt",
        lambda p: p.write_text(ARTICLE, encoding="utf-8"),
        True,
    ),
    "超长文件名（200 字）": (
        "长" * 200 + ".txt",
        lambda p: p.write_text(ARTICLE, encoding="utf-8"),
        True,
    ),
    "文件名含 ..": ("a..b.txt", lambda p: p.write_text(ARTICLE, encoding="utf-8"), True),
}


def bad_input_rows(scratch: Scratch, base: Path) -> list[Row]:
    rows = _file_rows(scratch, base)
    rows += _upload_rows(scratch, base)
    rows += _question_rows(scratch, base)
    rows += _eval_rows(scratch, base)
    rows += _api_rows(scratch, base)
    return rows


def _file_rows(scratch: Scratch, base: Path) -> list[Row]:
    index_dir = scratch.copy_index(base, "bad-input")
    settings = scratch.settings_for(index_dir)
    folder = scratch.root / "bad-files"
    folder.mkdir(exist_ok=True)
    rows = []
    for case, (name, write, indexable) in FILES.items():
        path = folder / name
        try:
            write(path)
        except OSError as exc:  # a name this file system refuses is a row too
            rows.append(Row("坏输入·导入", case, f"文件系统拒绝此文件名：{exc.strerror}", True))
            continue
        try:
            report = ingest([path], settings.index_options(), scratch.embeddings, progress=False)
            if report.issues:
                outcome = f"已导入：{len(report.issues[0].articles)} 篇文章"
                ok = indexable
            else:
                outcome = f"跳过：{report.skipped[0][1]}"
                ok = not indexable
        except ArchiveQAError as exc:
            outcome, ok = f"错误：{exc.message}", not indexable
        except Exception as exc:  # a crash is the failure this row is for
            outcome, ok = f"崩溃：{type(exc).__name__}: {exc}"[:300], False
        state = scratch.state(index_dir)
        if not set(scratch.seeds_names) <= set(state.sources):
            outcome, ok = outcome + "；原有来源丢失", False
        rows.append(Row("坏输入·导入", case, outcome, ok))
        path.unlink(missing_ok=True)
    rows.append(_missing_path_row(settings, scratch))
    return rows


def _missing_path_row(settings, scratch: Scratch) -> Row:
    report = ingest(
        [scratch.root / "no-such-folder"],
        settings.index_options(),
        scratch.embeddings,
        progress=False,
    )
    reason = report.skipped[0][1] if report.skipped else "（未报告）"
    return Row("坏输入·导入", "路径不存在", f"跳过：{reason}", bool(report.skipped))


def _upload_rows(scratch: Scratch, base: Path) -> list[Row]:
    """What the web app does with uploaded names: path parts and odd characters are
    dropped before the file is stored; the stored file stays inside the upload folder."""
    index_dir = scratch.copy_index(base, "bad-upload")
    upload_dir = scratch.root / "uploads"
    settings = scratch.settings_for(index_dir).model_copy(
        update={"upload_dir": upload_dir, "llm": "none"}
    )
    service = ArchiveService(settings, "none", scratch.embeddings)
    rows = []
    for case, name in {
        "上传名含 ../ 路径": "../../etc/passwd.txt",
        "上传名含反斜杠路径": "..\\..\\windows\\evil.txt",
        "上传名含 HTML": "<img src=x onerror=alert(1)>.txt",
        "上传名超长（200 个字母）": "a" * 200 + ".txt",
    }.items():
        source = scratch.root / "upload-source.txt"
        source.write_text(ARTICLE, encoding="utf-8")
        renamed = scratch.root / "renamed"
        renamed.mkdir(exist_ok=True)
        try:
            staged = renamed / Path(name.replace("\\", "/")).name
            staged.write_bytes(source.read_bytes())
        except OSError:
            staged = source
        report = service.ingest_files([staged])
        stored = sorted(p.name for p in upload_dir.iterdir())
        inside = all((upload_dir / s).resolve().parent == upload_dir.resolve() for s in stored)
        ok = bool(report.issues) and inside and all("<" not in s and "/" not in s for s in stored)
        rows.append(
            Row("坏输入·上传", case, f"存为 {stored[-1][:60]}，{len(report.issues)} 期已导入", ok)
        )
        for path in upload_dir.iterdir():
            path.unlink()
    return rows


# question → what must happen: an error message, a refusal, or an answer or refusal
QUESTIONS: dict[str, tuple[str, str]] = {
    "空问题": ("", "error"),
    "只有空白": ("   \n\t ", "error"),
    "只有标点": ("？？？！！。。", "error"),
    "只有表情": ("🌸🌳🤔", "error"),
    "10 万字的问题": ("瓜山未来社区" * 20000, "any"),
    "含控制字符": ("瓜山\x00未来\x07社区建成开放的是哪家酒店？", "any"),
    "含 HTML 与脚本": ("<script>alert(1)</script>瓜山未来社区建成开放的是哪家酒店？", "any"),
    "SQL 注入样式": ("'; DROP TABLE articles; -- 瓜山未来社区", "any"),
    "繁体字": ("瓜山未來社區建成開放的是哪家酒店？", "any"),
    "英文问题（摘录式，没有模型翻译）": ("Which hotel opened in the Guashan community?", "refuse"),
}


def _question_rows(scratch: Scratch, base: Path) -> list[Row]:
    index_dir = scratch.copy_index(base, "bad-question")
    settings = scratch.settings_for(index_dir).model_copy(update={"llm": "none"})
    service = ArchiveService(settings, "none", scratch.embeddings)
    rows = []
    for case, (question, expected) in QUESTIONS.items():
        try:
            answer = service.ask(question, [])
            outcome = ("拒答" if answer.refused else "回答") + f"：{answer.text[:60]}"
            if answer.notices:
                outcome += f"（提示：{answer.notices[0]}）"
            ok = expected == "any" or (expected == "refuse" and answer.refused)
        except ArchiveQAError as exc:
            outcome, ok = f"提示：{exc.message}", expected == "error"
        except Exception as exc:
            outcome, ok = f"崩溃：{type(exc).__name__}: {exc}"[:300], False
        rows.append(Row("坏输入·提问", case, outcome, ok))
    return rows


def _eval_rows(scratch: Scratch, base: Path) -> list[Row]:
    path = scratch.root / "broken.jsonl"
    path.write_text(
        '{"id": "a", "question": "瓜山未来社区建成开放的是哪家酒店？", "evidence": []}\n'
        '{"id": "b", "question": "缺了右括号"\n',
        encoding="utf-8",
    )
    code, printed = run_cli(["eval", str(path), "--retrieval-only"], base)
    last = printed.strip().splitlines()[-1] if printed.strip() else ""
    ok = code != 0 and "Traceback" not in printed and "第 2 行" in printed
    return [Row("坏输入·评测", "JSONL 有坏行", f"退出码 {code}：{last[:160]}", ok)]


# Malformed calls of the /ask API: (case, raw request body). The app must answer each with an
# error (HTTP 4xx, or an error event) and go on answering well-formed calls.
ANSWERABLE_CALLS = ("API：1 MB 的问题",)
OWN_MESSAGE_CALLS = ("API：问题是数字", "API：历史记录格式错")
MALFORMED_CALLS = {
    "API：请求体不是 JSON": "{not json",
    "API：缺少 data 字段": '{"question": "x"}',
    "API：data 不是列表": '{"data": "瓜山未来社区"}',
    "API：参数个数不对": '{"data": []}',
    "API：问题是数字": '{"data": [12345, []]}',
    "API：历史记录格式错": '{"data": ["瓜山未来社区在哪？", "不是列表"]}',
    "API：1 MB 的问题": '{"data": ["' + "问" * 350_000 + '", []]}',
}


def _api_rows(scratch: Scratch, base: Path) -> list[Row]:
    index_dir = scratch.copy_index(base, "bad-api")
    app, port = start_app(index_dir, "none", scratch.root / "app-bad-api.log")
    well_formed = '{"data": ["瓜山未来社区建成开放的是哪家酒店？", []]}'.encode()
    rows = []
    try:
        for case, body in MALFORMED_CALLS.items():
            status, kind, said = _call(port, body.encode())
            _, alive_kind, _ = _call(port, well_formed)
            refused = status >= 400 or kind == "error"
            if case in OWN_MESSAGE_CALLS:  # reach ask_api, which must say what is wrong
                refused = kind == "error" and "请求格式不对" in said
            # an over-long question may also be answered (cut to its first 500 characters)
            ok = (refused or case in ANSWERABLE_CALLS) and alive_kind == "complete"
            outcome = f"HTTP {status} {kind}：{said[:100]}；之后正常提问：{alive_kind}"
            rows.append(Row("坏输入·API", case, outcome, ok))
    finally:
        stop_app(app)
    return rows


def _call(port: int, body: bytes) -> tuple[int, str, str]:
    """POST a raw body to /gradio_api/call/ask and read the call's event stream: HTTP
    status, the last event's kind (complete, error; "http" for a refused request) and its
    data (JSON escapes decoded)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/gradio_api/call/ask",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            event_id = json.loads(response.read())["event_id"]
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/gradio_api/call/ask/{event_id}", timeout=120
        ) as response:
            stream = response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, "http", exc.read().decode("utf-8", errors="replace")
    events = re.findall(r"event: (\w+)\ndata: (.*)", stream)
    kind, data = events[-1] if events else ("none", stream)
    return 200, kind, data.encode().decode("unicode_escape", errors="replace")
