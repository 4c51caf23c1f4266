"""Run every reliability scenario in a scratch folder and write the report."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from index.ingest import ingest
from qa.embed import load_embeddings
from qa.reliability.corrupt import corrupt_rows
from qa.reliability.crash import crash_rows
from qa.reliability.plain_text import plain_text_rows
from qa.reliability.report import Row, table, write_report
from qa.reliability.scratch import Scratch, plain_article_files
from qa.reliability.writers import writer_rows
from qa.settings import PROJECT_ROOT, Settings

CRUD_DOCS = PROJECT_ROOT.parent / "shared" / "bench" / "crud" / "docs.jsonl"


def run_checks(
    settings: Settings, out_dir: Path, *, kills: int, quick: bool
) -> tuple[list[Row], Path]:
    """All scenarios; ``quick`` is the short version `make test` runs (fewer files and
    documents). Returns the rows and the report's path."""
    root = Path(tempfile.mkdtemp(prefix="archive-qa-check-"))
    try:
        scratch = Scratch(
            root=root,
            settings=settings.model_copy(update={"index_dir": root / "base"}),
            embeddings=load_embeddings(settings),
            seeds=sorted(p for p in settings.seeds_dir.iterdir() if p.is_file()),
            extra=[],
        )
        scratch.extra = plain_article_files(
            root / "extra", CRUD_DOCS, 12 if quick else 48, scratch.seeds
        )
        base = scratch.settings.index_dir
        ingest(scratch.seeds, scratch.settings, scratch.embeddings, progress=False)
        rows: list[Row] = []
        timings = {}
        for name, scenario in (
            ("writers", lambda: writer_rows(scratch, base)),
            ("crash", lambda: crash_rows(scratch, base, kills)),
            ("corrupt", lambda: corrupt_rows(scratch, base, quick)),
            (
                "plain_text",
                lambda: plain_text_rows(
                    CRUD_DOCS, root / "plain", scratch.settings, 300 if quick else 3000
                ),
            ),
        ):
            started = time.monotonic()
            rows.extend(scenario())
            timings[name] = round(time.monotonic() - started, 1)
        path = write_report(
            rows,
            out_dir,
            {"kills": kills, "quick": quick, "extra_files": len(scratch.extra), "seconds": timings},
        )
        return rows, path
    finally:
        shutil.rmtree(root, ignore_errors=True)


def print_rows(rows: list[Row]) -> None:
    print(table(rows))
    print(f"\n通过 {sum(r.ok for r in rows)} 项，未通过 {sum(not r.ok for r in rows)} 项")
