"""One file → one `Issue`: load, clean, read the masthead, segment into articles."""

from __future__ import annotations

import hashlib
from pathlib import Path

from index.clean import clean_pages
from index.errors import ArchiveQAError
from index.load import load_file
from index.masthead import infer_date, parse_masthead
from index.options import ReadOptions
from index.schema import Issue
from index.segment import segment


def parse_issue(path: Path, options: ReadOptions) -> Issue:
    """Parse one issue file; raise `ArchiveQAError` when it yields nothing usable."""
    loaded = load_file(path, options)
    content_hash = hashlib.sha256("\n".join(loaded.pages).encode("utf-8")).hexdigest()
    lines, dropped = clean_pages(loaded.pages, options.heading_max_chars)
    meta, body_start = parse_masthead(lines, path.name, options.known_papers)
    if meta.date is None:
        meta.date = infer_date(path.name, "\n".join(line.text for line in lines))
        meta.date_inferred = meta.date is not None
    articles, guide, more_dropped = segment(
        lines[body_start:],
        meta,
        path.name,
        content_hash,
        heading_max_chars=options.heading_max_chars,
        intertitle_min_cohesion=options.intertitle_min_cohesion,
        default_page=1 if body_start else None,
    )
    if not articles:
        raise ArchiveQAError("没有找到任何文章（文件里没有成段的正文）", source=path.name)
    return Issue(
        source_file=path.name,
        source_path=str(path),
        content_hash=content_hash,
        file_format=loaded.file_format,
        encoding=loaded.encoding,
        meta=meta,
        articles=articles,
        pages_in_file=len(loaded.pages) if loaded.file_format == "pdf" else None,
        guide=guide,
        dropped_lines=dropped + more_dropped,
    )
