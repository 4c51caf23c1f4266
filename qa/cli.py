"""The `archive-qa` command line: ingest, info (more sub-commands join as they are built)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from index.ingest import IngestReport, ingest
from index.store import load_index
from qa.errors import ArchiveQAError
from qa.settings import get_settings


def _issue_numbers(issue: dict[str, Any]) -> str:
    parts = []
    if issue.get("issue_no") is not None:
        parts.append(f"第{issue['issue_no']}期")
    if issue.get("total_issue_no") is not None:
        parts.append(f"总第{issue['total_issue_no']}期")
    return " ".join(parts) or "期号未知"


def _date_label(issue: dict[str, Any]) -> str:
    if not issue.get("date"):
        return "日期未知"
    return issue["date"] + ("（推断）" if issue.get("date_inferred") else "")


def _print_report(report: IngestReport) -> None:
    print(
        f"读取文件 {len(report.issues)} 个，文章 {report.article_count} 篇，跳过 {len(report.skipped)} 个"
    )
    for issue in report.issues:
        meta = issue.meta
        print(
            f"  ✓ {issue.source_file}：{meta.paper or '报名未知'} {_date_label(issue.to_dict())}，"
            f"{len(issue.articles)} 篇文章"
        )
    for name, reason in report.skipped:
        print(f"  ✗ {name}：{reason}")


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = get_settings()
    report = ingest([Path(p) for p in args.paths], settings, rebuild=args.rebuild)
    _print_report(report)
    print(f"索引目录：{settings.index_dir}")
    return 1 if report.skipped else 0


def cmd_info(args: argparse.Namespace) -> int:
    data = load_index(get_settings().index_dir)
    issues = [data.issues[name] for name in sorted(data.issues)]
    if args.json:
        json.dump({"sources": issues}, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    if not issues:
        print("索引为空。先导入报纸：archive-qa ingest seeds/")
        return 0
    for issue in issues:
        pages = []
        if issue.get("pages_in_issue"):
            pages.append(f"本期{issue['pages_in_issue']}版")
        if issue.get("pages_in_file"):
            pages.append(f"文件{issue['pages_in_file']}页")
        print(
            f"{issue['file']}  {issue.get('paper') or '报名未知'}  {_date_label(issue)}  "
            f"{_issue_numbers(issue)}  {' '.join(pages) or '版数未知'}  "
            f"{len(issue['articles'])} 篇文章"
        )
        for article in issue["articles"]:
            mark = "（无标题，取首句）" if article.get("title_inferred") else ""
            print(f"    - {article['title']}{mark}")
    print(f"共 {len(issues)} 个来源，{data.article_count} 篇文章")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from qa.bench import bench_parse

    settings = get_settings()
    if args.target == "parse":
        result = bench_parse(Path(args.source), args.files, settings)
        print("解析测速 (cleaning + segmentation, no embedding)")
        print("\n".join(result.lines()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archive-qa",
        description="报刊问答：基于地方报纸档案的问答助手（archive QA over Chinese newspapers）",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="显示调试日志 (debug logging)")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest_parser = sub.add_parser("ingest", help="导入报纸文件或文件夹 (ingest files or folders)")
    ingest_parser.add_argument("paths", nargs="+", help="文件或文件夹 (.txt .md .html .htm .pdf)")
    ingest_parser.add_argument("--rebuild", action="store_true", help="清空索引后重建 (start over)")
    ingest_parser.set_defaults(func=cmd_ingest)

    info_parser = sub.add_parser("info", help="列出已导入的来源和文章 (list sources)")
    info_parser.add_argument("--json", action="store_true", help="输出 JSON")
    info_parser.set_defaults(func=cmd_info)

    bench_parser = sub.add_parser("bench", help="性能测试 (benchmarks)")
    bench_parser.add_argument("target", choices=["parse"], help="parse: 解析速度")
    bench_parser.add_argument("--files", type=int, default=1000, help="文件数 (default 1000)")
    bench_parser.add_argument("--source", default="seeds", help="样本报纸所在文件夹")
    bench_parser.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.ERROR, format="%(levelname)s %(message)s"
    )
    try:
        return args.func(args)
    except ArchiveQAError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
