"""Run the reliability scenarios in a scratch folder and write the report."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from index.ingest import ingest
from qa.embed import load_embeddings
from qa.reliability.bad_input import bad_input_rows
from qa.reliability.corrupt import corrupt_rows
from qa.reliability.crash import crash_rows, upload_crash_rows
from qa.reliability.hostile import hostile_rows
from qa.reliability.load import load_rows
from qa.reliability.plain_text import plain_text_rows
from qa.reliability.report import Row, table, write_report
from qa.reliability.scratch import Scratch, plain_article_files
from qa.reliability.writers import writer_rows
from qa.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)
LOAD_USERS = 20
LOAD_SECONDS = 120
CRUD_DOCS = PROJECT_ROOT.parent / "shared" / "bench" / "crud" / "docs.jsonl"
Scenario = Callable[[Scratch, Path, int, bool], list[Row]]

# name → scenario(scratch, base index, kills, quick); `quick` is the short version that
# `make test` runs.
SCENARIOS: dict[str, Scenario] = {
    "writers": lambda s, base, kills, quick: writer_rows(s, base),
    "crash": lambda s, base, kills, quick: crash_rows(s, base, kills),
    "upload_crash": lambda s, base, kills, quick: upload_crash_rows(s, base, max(1, kills // 4)),
    "corrupt": lambda s, base, kills, quick: corrupt_rows(s, base, quick),
    "bad_input": lambda s, base, kills, quick: bad_input_rows(s, base),
    "hostile": lambda s, base, kills, quick: hostile_rows(s, base, quick),
    "plain_text": lambda s, base, kills, quick: plain_text_rows(
        CRUD_DOCS, s.root / "plain", s.settings, 300 if quick else 3000
    ),
    "load_extractive": lambda s, base, kills, quick: load_rows(
        s, base, "none", LOAD_USERS, 5 if quick else LOAD_SECONDS, None
    ),
    # quick: three people ask one question each at once, the model answers them in turn
    "load_local": lambda s, base, kills, quick: load_rows(
        s,
        base,
        "local",
        3 if quick else LOAD_USERS,
        0 if quick else LOAD_SECONDS,
        1 if quick else None,
        rounds=1 if quick else 2,
    ),
}


def run_checks(
    settings: Settings,
    out_dir: Path,
    *,
    kills: int,
    quick: bool,
    only: list[str] | None = None,
) -> tuple[list[Row], Path]:
    """The scenarios named in ``only`` (default: all). Returns the rows and the report's
    path."""
    root = Path(tempfile.mkdtemp(prefix="archive-qa-check-"))
    try:
        scratch = Scratch(
            root=root,
            settings=settings.model_copy(update={"index_dir": root / "base"}),
            embeddings=load_embeddings(settings),
            seeds=sorted(p for p in settings.seeds_dir.iterdir() if p.is_file()),
            extra=[],
            docs=CRUD_DOCS if CRUD_DOCS.is_file() else None,
        )
        scratch.extra = plain_article_files(
            root / "extra", CRUD_DOCS, 8 if quick else 48, scratch.seeds
        )
        base = scratch.settings.index_dir
        ingest(scratch.seeds, scratch.settings.index_options(), scratch.embeddings, progress=False)
        rows: list[Row] = []
        seconds = {}
        for name in only or SCENARIOS:
            started = time.monotonic()
            try:
                rows.extend(SCENARIOS[name](scratch, base, kills, quick))
            except Exception as exc:  # a scenario that breaks is a failed row, not the end
                logger.exception("scenario %s failed", name)
                rows.append(Row(name, "场景运行出错", f"{type(exc).__name__}: {exc}"[:300], False))
            seconds[name] = round(time.monotonic() - started, 1)
        path = write_report(
            rows,
            out_dir,
            {"kills": kills, "quick": quick, "extra_files": len(scratch.extra), "seconds": seconds},
        )
        return rows, path
    finally:
        shutil.rmtree(root, ignore_errors=True)


def print_rows(rows: list[Row]) -> None:
    print(table(rows))
    print(f"\n通过 {sum(r.ok for r in rows)} 项，未通过 {sum(not r.ok for r in rows)} 项")
