"""No text is dropped: every CRUD news document written out as a plain .txt file (the
article as one paragraph, no headline line) must become one article."""

from __future__ import annotations

import json
from pathlib import Path

from index.errors import ArchiveQAError
from index.parse import parse_issue
from qa.reliability.report import Row
from qa.settings import Settings


def plain_text_rows(docs: Path | None, folder: Path, settings: Settings, limit: int) -> list[Row]:
    if docs is None or not docs.is_file():
        return [
            Row("不丢文本", "CRUD 新闻逐篇存为纯文本", "跳过：../shared/bench/crud 不存在", True)
        ]
    folder.mkdir(parents=True, exist_ok=True)
    files = articles = 0
    refused: list[str] = []
    with docs.open(encoding="utf-8") as handle:
        for line in handle:
            if files == limit:
                break
            doc = json.loads(line)
            path = folder / f"{doc['id']}.txt"
            path.write_text(" ".join(doc["text"].splitlines()), encoding="utf-8")
            files += 1
            try:
                articles += len(parse_issue(path, settings.read_options()).articles)
            except ArchiveQAError as exc:
                refused.append(f"{doc['id']}：{exc.message}")
            path.unlink()
    outcome = f"{files} 个文件 → {articles} 篇文章，拒绝 {len(refused)} 个"
    if refused:
        outcome += "：" + "；".join(refused[:3])
    figures = {"files": files, "articles": articles, "refused": len(refused)}
    return [
        Row(
            "不丢文本",
            "CRUD 新闻逐篇存为纯文本（无标题、一段）",
            outcome,
            not refused and articles == files,
            figures,
        )
    ]
