"""The scratch world the scenarios run in: a folder of its own, an index built from the
seeds, a second set of files to ingest, and the index state as something to compare."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings

from index.build import model_id_of
from index.errors import ArchiveQAError
from index.store import load_index
from qa.retrieve import build_retriever
from qa.settings import PROJECT_ROOT, Settings

START_TIMEOUT_S = 300
# Questions whose top passages are compared before and after a crash.
PROBES = (
    "瓜山未来社区建成开放的是哪家酒店？",
    "拱墅区委书记是谁？",
    "大运会门票怎么买？",
    "新闻热线是多少？",
)


@dataclass(frozen=True)
class State:
    """What an index holds, as far as a user can tell: its sources, counts and answers to
    the probe questions (top-5 passage ids)."""

    sources: tuple[str, ...]
    articles: int
    passages: int
    probes: tuple[tuple[str, ...], ...]

    def describe(self) -> str:
        return f"{len(self.sources)} 个来源、{self.articles} 篇文章、{self.passages} 个段落"


@dataclass
class Scratch:
    root: Path
    settings: Settings  # index_dir inside root
    embeddings: Embeddings
    seeds: list[Path]  # the base index's sources
    extra: list[Path]  # files a scenario ingests on top
    docs: Path | None = None  # CRUD documents to write more files from

    @property
    def seeds_names(self) -> list[str]:
        return [path.name for path in self.seeds]

    def settings_for(self, index_dir: Path) -> Settings:
        return self.settings.model_copy(update={"index_dir": index_dir})

    def state(self, index_dir: Path) -> State:
        """The index's state; raises ArchiveQAError when it does not load."""
        data = load_index(index_dir)
        data.check_model(model_id_of(self.embeddings))
        retriever = build_retriever(data, self.embeddings, self.settings_for(index_dir))
        probes = tuple(
            tuple(hit.passage.id for hit in retriever.search(q, k=5).hits) for q in PROBES
        )
        return State(tuple(sorted(data.issues)), data.article_count, len(data.passages), probes)

    def copy_index(self, source: Path, name: str) -> Path:
        target = self.root / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        return target


def cli(
    args: list[str], index_dir: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start `archive-qa ARGS` on ``index_dir`` in its own process (``env``: more settings)."""
    return subprocess.Popen(
        [sys.executable, "-m", "qa.cli", *args],
        env={**os.environ, **(env or {}), "ARCHIVE_QA_INDEX_DIR": str(index_dir)},
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(
    args: list[str], index_dir: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> tuple[int, str]:
    """Run `archive-qa ARGS` to the end; its exit code and everything it printed."""
    process = cli(args, index_dir, env)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out + err


def safe_state(scratch: Scratch, index_dir: Path) -> State | str:
    """The state, or the error message that loading gave."""
    try:
        return scratch.state(index_dir)
    except ArchiveQAError as exc:
        return exc.message


def plain_article_files(
    folder: Path, docs: Path | None, count: int, seeds: list[Path], skip: int = 0
) -> list[Path]:
    """``count`` files to ingest on top of the seeds: CRUD documents (after the first
    ``skip``) written as plain one-paragraph .txt files when ../shared is there, else
    altered copies of the seeds."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    if docs is not None and docs.is_file():
        with docs.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle):
                if len(files) == count:
                    break
                if number < skip:
                    continue
                doc = json.loads(line)
                path = folder / f"{doc['id']}.txt"
                path.write_text(" ".join(doc["text"].splitlines()), encoding="utf-8")
                files.append(path)
        return files
    for n in range(count):
        seed = seeds[n % len(seeds)]
        path = folder / f"copy{skip + n:04d}_{seed.name}"
        # every copy's text differs, so each is embedded anew like a new issue would be
        lines = seed.read_text(encoding="utf-8", errors="replace").splitlines()
        mark = f"（{skip + n}）"
        path.write_text("\n".join(line + mark if line.strip() else line for line in lines))
        files.append(path)
    return files


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(
    index_dir: Path, backend: str, log: Path, upload_dir: Path | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the web app (app.py) on ``index_dir`` and a free port of 127.0.0.1; return
    once it serves its page."""
    port = _free_port()
    env = {
        **os.environ,
        "ARCHIVE_QA_INDEX_DIR": str(index_dir),
        "ARCHIVE_QA_LLM": backend,
        "ARCHIVE_QA_APP_PORT": str(port),
        "ARCHIVE_QA_APP_HOST": "127.0.0.1",
        "ARCHIVE_QA_UPLOAD_DIR": str(upload_dir or index_dir.parent / "uploads"),
    }
    with log.open("wb") as out:
        app = subprocess.Popen(
            [sys.executable, "app.py"], env=env, cwd=PROJECT_ROOT, stdout=out, stderr=out
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and app.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return app, port
        except OSError:
            time.sleep(0.5)
    app.kill()
    raise RuntimeError(f"网页应用没有启动：{log.read_text(errors='replace')[-500:]}")


def stop_app(app: subprocess.Popen[bytes]) -> None:
    app.terminate()
    try:
        app.wait(timeout=30)
    except subprocess.TimeoutExpired:
        app.kill()
        app.wait()
