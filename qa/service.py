"""One long-lived session over the index, shared by every user of the web app.

It owns the embedding model, the chat model and the loaded index; ingesting or deleting a
source saves a new index generation and swaps it in, so questions asked meanwhile finish on
the old one and later ones never see a deleted source.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import ArchiveQAError
from index.ingest import IngestReport, collect_files, ingest, remove
from index.store import IndexData
from index.store_api import PassageStore
from index.stores import open_store
from qa.answer import (
    Answer,
    Answerer,
    AnswerEvent,
    build_answerer,
    final_answer,
    issue_label,
)
from qa.embed import load_embeddings
from qa.retrieve import Filters, build_retriever
from qa.settings import Settings

logger = logging.getLogger(__name__)
# How the app names itself to another writer of the same index (index/writer_lock.py).
WEB_UPLOAD = "网页上传导入"
WEB_REMOVE = "网页删除来源"
WEB_FIRST = "首次启动建索引"

BACKEND_NAMES = {
    "local": "本地模型",
    "openai": "OpenAI 兼容接口",
    "none": "摘录式（不使用语言模型）",
}


MAX_NAME_CHARS = 120
MAX_SUFFIX_CHARS = 10


def safe_file_name(name: str) -> str:
    """A file name without path parts or characters that mean something to a shell or HTML."""
    base = Path(name.replace("\\", "/")).name
    base = unicodedata.normalize("NFKC", base)
    base = re.sub(r"[^\w.\-]+", "_", base).strip("._") or "upload"
    suffix = Path(base).suffix[:MAX_SUFFIX_CHARS]
    return (
        base[: MAX_NAME_CHARS - len(suffix)].rstrip(".") + suffix
        if len(base) > MAX_NAME_CHARS
        else base
    )


# First start indexes the seeds in this many saved steps, so questions asked meanwhile find
# what is done; every step rewrites the index, so more steps cost more.
FIRST_START_STEPS = 10


@dataclass
class IndexingProgress:
    folder: str
    done: int
    total: int
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"首次建立索引出错：{self.error}"
        return f"首次启动：正在为 {self.folder} 建立索引（已完成 {self.done}/{self.total} 个文件）"


@dataclass
class SourceRow:
    file: str
    paper: str
    date: str
    issue: str
    articles: int
    passages: int


class ArchiveService:
    def __init__(
        self,
        settings: Settings,
        backend: str | None = None,
        embeddings: Any = None,
        data: PassageStore | None = None,
        index_problem: str | None = None,
    ) -> None:
        self.settings = settings
        # Why the index on disk could not be opened; the app then serves an empty index,
        # says so in its status line, and tries the disk again on each question.
        self.index_problem = index_problem
        self.embeddings = embeddings if embeddings is not None else load_embeddings(settings)
        self._lock = threading.Lock()  # one writer at a time (ingest, delete)
        data = data if data is not None else open_store(settings.store_options())
        data.check_model(self.embeddings.model_id)
        self.answerer: Answerer = build_answerer(
            settings, backend, build_retriever(data, self.embeddings, settings)
        )
        self.first_start: IndexingProgress | None = None  # set while the seeds are indexed
        self.warmed = threading.Event()  # set once the model has read the fixed prompt
        threading.Thread(target=self._warm_up, name="llm-warm-up", daemon=True).start()

    # Reading
    @property
    def index(self) -> PassageStore:
        return self.answerer.retriever.index

    def stream(
        self, question: str, history: list[dict[str, Any]], filters: Filters | None = None
    ) -> Iterator[AnswerEvent]:
        self._retry_broken_index()
        indexing = self.first_start
        for event in self.answerer.stream(question, history, filters):
            if event.answer is not None and indexing is not None:
                event.answer.notices.append(f"{indexing.describe()}；回答只基于已建好的部分")
            yield event

    def _retry_broken_index(self) -> None:
        """Open the index again if it was broken (it may have been repaired since)."""
        if self.index_problem is None:
            return
        with self._lock:
            try:
                self._reload()
            except ArchiveQAError as exc:
                self.index_problem = exc.message
                raise ArchiveQAError(f"索引不可用：{exc.message}") from exc
            self.index_problem = None

    def ask(
        self, question: str, history: list[dict[str, Any]], filters: Filters | None = None
    ) -> Answer:
        """The finished answer of `stream` (for the APIs)."""
        return final_answer(self.stream(question, history, filters))

    @property
    def indexing(self) -> bool:
        """Is the first-start indexing still running?"""
        progress = self.first_start
        return progress is not None and progress.error is None

    def papers(self) -> list[str]:
        return sorted({issue.get("paper") for issue in self.index.issues.values()} - {None})

    def sources(self) -> list[SourceRow]:
        counts = self.index.source_passage_counts()
        rows = []
        for name, issue in sorted(self.index.issues.items()):
            label = issue_label(issue).split(" · ")
            rows.append(
                SourceRow(
                    file=name,
                    paper=label[0],
                    date=label[1],
                    issue=" ".join(label[2:]) or "—",
                    articles=len(issue["articles"]),
                    passages=counts.get(name, 0),
                )
            )
        return rows

    def article(self, article_id: str) -> dict[str, Any] | None:
        for issue in self.index.issues.values():
            for article in issue["articles"]:
                if article["id"] == article_id:
                    return article
        return None

    def example_questions(self, count: int = 3) -> list[str]:
        """Questions about headlines of the indexed archive: one per issue, newest first."""
        examples = []
        issues = sorted(self.index.issues.values(), key=lambda i: i.get("date") or "", reverse=True)
        for issue in issues:
            titled = [a for a in issue["articles"] if not a.get("title_inferred") and a["title"]]
            if titled:
                title = min(titled, key=lambda a: len(a["title"]))["title"]
                examples.append(f"“{title}”这篇报道讲了什么？")
            if len(examples) == count:
                break
        return examples

    def status(self) -> str:
        answerer = self.answerer
        backend = BACKEND_NAMES.get(answerer.backend, answerer.backend)
        if answerer.backend == "local":
            restarts = getattr(answerer.model, "restarts", 0)
            again = f"，模型进程已重启 {restarts} 次" if restarts else ""
            backend += f"（{self.settings.llm_model_path.name}{again}）"
        elif answerer.backend == "openai":
            backend += f"（{self.settings.openai_model}）"
        problem = answerer.model_problem()
        if problem:
            backend = f"摘录式：{problem}"
        data = self.index
        first_start = f"{self.first_start.describe()} ｜ " if self.first_start else ""
        if self.index_problem:
            first_start = f"索引不可用：{self.index_problem} ｜ " + first_start
        return (
            f"{first_start}回答：{backend} ｜ 索引：{len(data.issues)} 期报纸、{data.article_count} 篇文章、"
            f"{data.passage_count} 个段落（{self.settings.store_options().label}） ｜ "
            f"向量模型：{self.embeddings.model_id}"
        )

    # Writing
    def ingest_files(self, paths: list[Path], progress: bool = False) -> IngestReport:
        """Copy uploads under sanitised names into the upload folder, then ingest them."""
        upload_dir = self.settings.upload_dir
        upload_dir.mkdir(parents=True, exist_ok=True)
        stored = []
        for path in paths:
            target = upload_dir / safe_file_name(path.name)
            if path.resolve() != target.resolve():
                shutil.copyfile(path, target)
            stored.append(target)
        with self._lock:
            report = ingest(
                stored,
                self.settings.index_options(),
                self.embeddings,
                progress=progress,
                action=WEB_UPLOAD,
            )
            self._reload()
        return report

    def remove(self, names: list[str]) -> list[str]:
        """Delete sources from every part of the index; returns the names not found."""
        with self._lock:
            missing = remove(self.settings.store_options(), names, action=WEB_REMOVE)
            if len(missing) < len(set(names)):
                self._reload()
        return missing

    def index_in_background(self, folder: Path) -> threading.Thread:
        """First start: index ``folder`` step by step while the app already serves. Each
        step is saved and swapped in, so questions find what is indexed so far; the status
        line shows the progress."""
        files = collect_files([folder], IngestReport())
        self.first_start = IndexingProgress(folder.name, 0, len(files))
        thread = threading.Thread(
            target=self._index_steps, args=(files,), name="first-start-indexing", daemon=True
        )
        thread.start()
        return thread

    def _index_steps(self, files: list[Path]) -> None:
        progress = self.first_start
        assert progress is not None
        step = max(1, math.ceil(len(files) / FIRST_START_STEPS))
        try:
            for start in range(0, len(files), step):
                batch = files[start : start + step]
                with self._lock:
                    report = ingest(
                        batch,
                        self.settings.index_options(),
                        self.embeddings,
                        progress=False,
                        action=WEB_FIRST,
                    )
                    self._reload()
                for name, reason in report.skipped:
                    logger.warning("first start: %s not indexed: %s", name, reason)
                progress.done += len(batch)
            self.first_start = None
        except ArchiveQAError as exc:
            progress.error = exc.message
        except Exception as exc:  # the app keeps serving; the status line names the fault
            logger.exception("first-start indexing failed")
            progress.error = f"{type(exc).__name__}: {exc}"

    def _warm_up(self) -> None:
        """In the background: the app serves at once; a question asked meanwhile waits for
        the model as it would have anyway."""
        try:
            self.answerer.warm_up()
        except Exception as exc:  # a model fault shows on the first question, with its reason
            logger.warning("language model warm-up failed: %s", exc)
        finally:
            self.warmed.set()

    def _reload(self) -> None:
        data = open_store(self.settings.store_options())
        data.check_model(self.embeddings.model_id)
        self.answerer.retriever = build_retriever(data, self.embeddings, self.settings)


def open_service(
    settings: Settings, backend: str | None = None, *, background: bool = False
) -> ArchiveService:
    """The service over ``settings.index_dir``; an empty index is first built from the seeds,
    before returning, or with ``background`` while the service already answers."""
    embeddings = load_embeddings(settings)
    try:
        data = open_store(settings.store_options())
        data.check_model(embeddings.model_id)
    except ArchiveQAError as exc:
        if not background:
            raise
        logger.error("index unavailable: %s", exc)  # the app starts and says so
        return ArchiveService(settings, backend, embeddings, IndexData(), exc.message)
    if not data.passage_count:
        seeds = settings.seeds_dir
        if not seeds.is_dir():
            raise ArchiveQAError("索引为空，也没有可导入的样例报纸文件夹", source=str(seeds))
        if background:
            service = ArchiveService(settings, backend, embeddings, data)
            service.index_in_background(seeds)
            return service
        print(f"首次启动：正在为 {seeds} 建立索引……", flush=True)
        ingest([seeds], settings.index_options(), embeddings, progress=True)
        data = open_store(settings.store_options())
    return ArchiveService(settings, backend, embeddings, data)
