"""Benchmarks that print figures (tests check behaviour; these check numbers)."""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from index.ingest import parse_files
from qa.errors import ArchiveQAError
from qa.settings import Settings


@dataclass
class ParseBenchResult:
    files: int
    articles: int
    characters: int
    seconds: float
    peak_rss_mb: float

    def lines(self) -> list[str]:
        return [
            f"文件数 files            {self.files}",
            f"文章数 articles         {self.articles}",
            f"耗时 seconds            {self.seconds:.2f}",
            f"文件/秒 files/s         {self.files / self.seconds:.1f}",
            f"字符/秒 chars/s         {self.characters / self.seconds:,.0f}",
            f"峰值内存 peak RSS (MB)  {self.peak_rss_mb:.0f}",
        ]


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def bench_parse(source_dir: Path, files: int, settings: Settings) -> ParseBenchResult:
    """Parse `files` issue files (the issues in `source_dir`, repeated under new names)."""
    sources = sorted(
        p for p in source_dir.iterdir() if p.suffix.lower() in settings.supported_extensions
    )
    if not sources:
        raise ArchiveQAError("没有可用于测速的报纸文件", source=str(source_dir))
    workdir = Path(tempfile.mkdtemp(prefix="archive-qa-bench-"))
    try:
        for number in range(files):
            source = sources[number % len(sources)]
            shutil.copyfile(source, workdir / f"{number:05d}_{source.name}")
        start = time.perf_counter()
        report = parse_files([workdir], settings, progress=True)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ParseBenchResult(
        files=len(report.issues),
        articles=report.article_count,
        characters=sum(len(issue.cleaned_text) for issue in report.issues),
        seconds=seconds,
        peak_rss_mb=peak_rss_mb(),
    )
