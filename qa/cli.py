"""The `archive-qa` command line: ingest, remove, info, serve, ask, eval, bench, check."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.errors import ArchiveQAError
from index.ingest import IngestReport, ingest
from index.stores import open_store
from qa.settings import PROJECT_ROOT, get_settings

if TYPE_CHECKING:
    from qa.answer import Answer


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


def _name_paths(paths: list[str]) -> str:
    """ "seeds/" or "a.txt 等 12 个": what a running writer is doing, in a line."""
    return paths[0] if len(paths) == 1 else f"{paths[0]} 等 {len(paths)} 个"


def cmd_ingest(args: argparse.Namespace) -> int:
    from qa.embed import load_embeddings

    settings = get_settings()
    embeddings = load_embeddings(settings)
    report = ingest(
        [Path(p) for p in args.paths],
        settings.index_options(),
        embeddings,
        rebuild=args.rebuild,
        action=f"archive-qa ingest {_name_paths(args.paths)}",
        wait=args.wait,
    )
    _print_report(report)
    print(
        f"段落 {report.passage_count} 个（新向量化 {report.embedded} 个）；索引：{settings.store_options().label}"
    )
    return 1 if report.skipped else 0


def cmd_remove(args: argparse.Namespace) -> int:
    from index.ingest import remove

    action = f"archive-qa remove {_name_paths(args.sources)}"
    missing = remove(get_settings().store_options(), args.sources, action=action, wait=args.wait)
    removed = [name for name in args.sources if name not in missing]
    for name in removed:
        print(f"  ✓ 已删除 {name}")
    for name in missing:
        print(f"  ✗ {name}：索引中没有这个来源（archive-qa info 可列出全部来源）")
    return 1 if missing else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from qa import evaluate

    if args.compare:
        from qa.report import write_comparison_report

        first, second = (Path(folder) for folder in args.compare)
        print(evaluate.compare_runs(first, second))
        out = Path(args.out) if args.out else first.parent / f"compare-{first.name}-{second.name}"
        print(f"对比报告：{write_comparison_report(first, second, out)}")
        return 0
    if not args.file:
        raise ArchiveQAError("请给出测试集文件：archive-qa eval FILE.jsonl")
    settings = get_settings()
    loads_model = (
        not (args.retrieval_only or args.context_only or args.replay_tape)
        and (args.llm or settings.llm) == "local"
    )
    with _model_turn(settings, args) if loads_model else nullcontext():
        return _run_eval(args, settings)


def _model_turn(settings: Any, args: argparse.Namespace) -> Any:
    """This run's turn on the machine's local model (qa/model_turn.py)."""
    from qa.model_turn import model_turn

    command = " ".join(["archive-qa", *sys.argv[1:]])
    return model_turn(settings.model_turn_lock, command, side_by_side=args.side_by_side)


def _run_eval(args: argparse.Namespace, settings: Any) -> int:
    from qa import evaluate
    from qa.retrieve import open_retriever

    questions = evaluate.load_test_set(Path(args.file))
    if args.split:
        from qa.splits import select

        questions = select(questions, Path(args.file).name, args.split)
    if args.sample:
        from qa.splits import stratified_sample

        questions = stratified_sample(questions, Path(args.file).name, args.sample)
    retriever = open_retriever(settings, k=args.k, mode=args.mode)
    embeddings = retriever.embeddings
    if args.context_only:
        from qa.answer import build_answerer

        answerer = build_answerer(settings, "none", retriever)
        reach = {"archive-qa": evaluate.context_reach(questions, evaluate.answer_context(answerer))}
        if args.reference:
            from qa.reference import build_reference

            pipeline = build_reference(Path(args.reference), settings, embeddings, None)
            reach["reference"] = evaluate.context_reach(questions, pipeline.context_text)
        print(json.dumps(reach, ensure_ascii=False, indent=1))
        return 0
    results = evaluate.evaluate_retrieval(questions, retriever)
    config = {
        "mode": args.mode,
        "k": args.k,
        "embedding_model": embeddings.model_id,
        "split": args.split or "all",
    }
    if not args.retrieval_only:
        from qa.answer import build_answerer

        answerer = build_answerer(settings, "none" if args.replay_tape else args.llm, retriever)
        if answerer.model_notice:
            print(answerer.model_notice, file=sys.stderr)
        tape = _use_tape(args, answerer)
        answerer.warm_up()  # latencies as a running app sees them, not the first read
        evaluate.evaluate_answers(questions, results, answerer)
        config["llm"] = answerer.backend
        if args.replay_tape:
            print(
                f"重放录制的模型回答：{answerer.model.misses} 个提示词不在录制中", file=sys.stderr
            )
        if answerer.backend == "local":  # latencies mean something only with the machine
            from qa.llm_runtime import cpu_features, cpu_name, load_options

            config["machine"] = (
                f"{cpu_name()} ({' '.join(cpu_features())}), {settings.threads} 线程"
            )
            config["llm_load_options"] = load_options(settings).to_dict()
    summary = evaluate.summarize(results)
    summary["config"] = config
    reference = None
    if args.reference and not args.retrieval_only:
        reference = _reference_summary(args, questions, results, answerer, settings)
        summary["reference"] = reference
    if not args.retrieval_only and tape is not None:
        # What this run asked, ours and the reference's: prompts of earlier runs that no
        # question asks any more leave the tape (a committed tape stays this run's size).
        tape.write(Path(args.record_tape), only_used=True)
        replayed = answerer.model.replayed + answerer.condense_model.replayed
        config["replayed_prompts"] = replayed
        if replayed:
            print(
                f"{replayed} 个提示词已在录制中，直接重放（这些题的用时不是实测）", file=sys.stderr
            )
    print(evaluate.format_table(summary))
    if "machine" in config:
        print(f"机器：{config['machine']}；llama.cpp 加载方式：{config['llm_load_options']}")
    for key, label in (
        ("top_dense_score", "最高向量相似度 dense cosine"),
        ("top_coverage", "问题词覆盖率 coverage"),
    ):
        print(
            f"{label}：可回答 {summary[key]['answerable']}；不可回答 {summary[key]['unanswerable']}"
        )
    if reference is not None:
        print("\n与 Chatchat 式参照管线对比（同一模型、同一机器、同一次运行）")
        print(evaluate.side_by_side([summary, reference], ["archive-qa", "reference"]))
    if args.out:
        from qa.report import write_run_report

        evaluate.write_run(Path(args.out), summary, results)
        report = write_run_report(Path(args.out))
        if reference is not None:
            write_run_report(Path(args.out) / "reference")
        print(f"结果已写入 {args.out}/summary.json 与 questions.jsonl；报告：{report}")
    return 0


def _use_tape(args: argparse.Namespace, answerer: Any) -> Any:
    """Record the model's replies to a tape, or answer from one (qa/model_tape.py). The
    tape being recorded, or None (replaying, no tape, or no model to record)."""
    from qa.model_tape import RecordingChatModel, ReplayChatModel, Tape

    if not (args.record_tape or args.replay_tape):
        return None
    tape = Tape.read(Path(args.record_tape or args.replay_tape))
    if args.replay_tape:
        if not tape.replies:
            raise ArchiveQAError("录制文件不存在或为空", source=args.replay_tape)
        answerer.model = answerer.condense_model = ReplayChatModel(tape=tape)
        answerer.backend = "replay"
        return None
    if answerer.model is None:
        return None
    path = Path(args.record_tape)
    answerer.model = RecordingChatModel(inner=answerer.model, tape=tape, save_to=path)
    answerer.condense_model = RecordingChatModel(
        inner=answerer.condense_model, tape=tape, save_to=path
    )
    return tape


def _reference_summary(
    args: argparse.Namespace,
    questions: list[dict[str, Any]],
    results: list[Any],
    answerer: Any,
    settings: Any,
) -> dict[str, Any]:
    """Answer the same questions through the Chatchat-style reference pipeline."""
    from qa import evaluate
    from qa.reference import build_reference

    if answerer.model is None:
        raise ArchiveQAError("参照管线需要语言模型（--llm local 或 openai）")
    pipeline = build_reference(
        Path(args.reference), settings, answerer.retriever.embeddings, answerer.model
    )
    answered = evaluate.evaluate_reference(questions, results, pipeline, settings.citation_support)
    summary = evaluate.answer_metrics(answered)
    summary.pop("citation_precision", None)  # it cites no sentence
    summary["chunks"] = len(pipeline.chunks)
    if args.out:
        evaluate.write_run(Path(args.out) / "reference", summary, answered)
    return summary


LLM_CHOICES = ["local", "openai", "none"]


def _print_answer(answer: Answer, cite: bool = False) -> None:
    for notice in answer.notices:
        print(f"提示：{notice}")
    if answer.standalone_question != answer.question:
        print(f"（理解为：{answer.standalone_question}）")
    print(answer.text)
    if answer.citations:
        print("\n出处：")
        for citation in answer.citations:
            print(f"[{citation.number}] {citation.label}")
            print(f"    “{citation.quote}”")
    unsupported = [s.text.strip() for s in answer.sentences if s.text.strip() and not s.supported]
    if unsupported:
        print("\n未能在资料中核实的句子：" + " / ".join(unsupported))
    if cite and answer.citations:
        from qa.cite_style import citation_list

        print("\n引用格式：")
        print(citation_list((c.number, c.reference) for c in answer.citations))


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.answer import build_answerer
    from qa.retrieve import Filters

    answerer = build_answerer(get_settings(), args.llm)
    filters = Filters(tuple(args.paper), args.date_from, args.date_to)
    answer = answerer.ask(args.question, filters=filters)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_answer(answer, cite=args.cite)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The web page and the OpenAI-compatible API (app.py), until interrupted."""
    import importlib.util

    app_file = PROJECT_ROOT / "app.py"
    spec = importlib.util.spec_from_file_location("app", app_file)
    if spec is None or spec.loader is None or not app_file.is_file():
        raise ArchiveQAError(
            "找不到 app.py：serve 需要在项目目录中安装（pip install -e .）", source=str(app_file)
        )
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    overrides = {
        key: value
        for key, value in (("app_host", args.host), ("app_port", args.port), ("llm", args.llm))
        if value is not None
    }
    app.main(get_settings().model_copy(update=overrides))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from qa.embed import load_embeddings

    settings = get_settings()
    if args.repair:
        from index.repair import repair_index

        report = repair_index(settings.index_options(), load_embeddings(settings), wait=args.wait)
        if report.problem is None:
            print(f"索引完好：{len(report.sources)} 个来源（{settings.index_dir}）")
            return 0
        print(f"发现问题：{report.problem}")
        print(f"已修复：{len(report.sources)} 个来源重新建立索引")
        for name in report.reparsed:
            print(f"  ↻ {name}：从原文件重新读取")
        for name in report.lost:
            print(f"  ✗ {name}：无法恢复，请重新导入（archive-qa ingest 文件）")
        return 1 if report.lost else 0
    from qa.reliability.run import print_rows, run_checks

    rows, path = run_checks(
        settings, Path(args.out), kills=args.kills, quick=args.quick, only=args.only
    )
    print_rows(rows)
    print(f"报告：{path}")
    return 0 if all(row.ok for row in rows) else 1


def cmd_migrate(args: argparse.Namespace) -> int:
    from index.migrate import migrate

    report = migrate(get_settings().store_options(), args.to, wait=args.wait)
    print(
        f"已从 {report.source} 迁移到 {report.target}：{report.sources} 期报纸、"
        f"{report.articles} 篇文章、{report.passages} 个段落，核对一致（{report.seconds} 秒）"
    )
    print(f"使用新存储：ARCHIVE_QA_STORE={args.to}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    data = open_store(get_settings().store_options())
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
    if args.target == "llm":
        from qa.bench_llm import bench_llm

        with _model_turn(settings, args):
            print("本地语言模型测速 (llama.cpp on this machine)")
            print("\n".join(bench_llm(settings, args.compare_in_process)))
        return 0
    if args.target == "parse":
        result = bench_parse(Path(args.source or "seeds"), args.files, settings)
        print("解析测速 (cleaning + segmentation, no embedding)")
        print("\n".join(result.lines()))
        return 0
    from qa.bench import bench_crud
    from qa.embed import load_embeddings

    crud_dir = (
        Path(args.source) if args.source else PROJECT_ROOT.parent / "shared" / "bench" / "crud"
    )
    if args.target == "scale":
        from qa.bench_scale import bench_scale

        embeddings = load_embeddings(settings)
        for size in args.sizes:
            result = bench_scale(
                Path(args.from_index),
                crud_dir,
                size,
                args.store,
                settings,
                embeddings,
                args.queries,
            )
            print(json.dumps(result, ensure_ascii=False), flush=True)
        return 0
    keep = Path(args.keep_index) if args.keep_index else None
    summary = bench_crud(
        crud_dir, args.docs, settings, load_embeddings(settings), keep, store=args.store
    )
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
        )
    return 0


# The scenarios of `archive-qa check` (qa/reliability/run.py SCENARIOS), named here so that
# the parser does not import them.
CHECK_SCENARIOS = (
    "writers", "crash", "upload_crash", "corrupt", "bad_input", "hostile", "plain_text", "load_extractive", "load_local",
)  # fmt: skip
SIDE_BY_SIDE_HELP = (
    "与本机另一个使用本地模型的评测或测速同时运行（默认排队等它结束）(run beside another model run)"
)
WAIT_HELP = "另一个写入（导入、删除）正在进行时排队等待，而不是立即退出 (wait for a running writer)"


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
    ingest_parser.add_argument("--wait", action="store_true", help=WAIT_HELP)
    ingest_parser.set_defaults(func=cmd_ingest)

    info_parser = sub.add_parser("info", help="列出已导入的来源和文章 (list sources)")
    info_parser.add_argument("--json", action="store_true", help="输出 JSON")
    info_parser.set_defaults(func=cmd_info)

    remove_parser = sub.add_parser("remove", help="从索引删除来源 (remove sources)")
    remove_parser.add_argument("sources", nargs="+", help="来源文件名（见 archive-qa info）")
    remove_parser.add_argument("--wait", action="store_true", help=WAIT_HELP)
    remove_parser.set_defaults(func=cmd_remove)

    migrate_parser = sub.add_parser(
        "migrate", help="在 FAISS 与 Milvus 之间复制索引，不重新向量化 (copy the index)"
    )
    migrate_parser.add_argument("--to", choices=("milvus", "faiss"), required=True)
    migrate_parser.add_argument("--wait", action="store_true", help=WAIT_HELP)
    migrate_parser.set_defaults(func=cmd_migrate)

    check_parser = sub.add_parser(
        "check", help="可靠性检查，或用 --repair 修复损坏的索引 (reliability checks / repair)"
    )
    check_parser.add_argument(
        "--repair", action="store_true", help="检查当前索引，损坏时用其中仍可读的内容重建"
    )
    check_parser.add_argument("--quick", action="store_true", help="短版（make test 用）")
    check_parser.add_argument("--kills", type=int, default=20, help="kill -9 的次数")
    check_parser.add_argument(
        "--only",
        nargs="+",
        choices=CHECK_SCENARIOS,
        help="只跑这些场景 (" + " ".join(CHECK_SCENARIOS) + ")",
    )
    check_parser.add_argument("--out", default="reliability", help="写出 reliability.json 的目录")
    check_parser.add_argument("--wait", action="store_true", help=WAIT_HELP)
    check_parser.set_defaults(func=cmd_check)

    serve_parser = sub.add_parser(
        "serve", help="启动网页与 OpenAI 兼容接口 /v1 (web app and OpenAI-compatible API)"
    )
    serve_parser.add_argument("--host", help="监听地址，覆盖 ARCHIVE_QA_APP_HOST（默认 127.0.0.1）")
    serve_parser.add_argument(
        "--port", type=int, help="端口，覆盖 ARCHIVE_QA_APP_PORT（默认 7860）"
    )
    serve_parser.add_argument("--llm", choices=LLM_CHOICES, help="回答后端，覆盖 ARCHIVE_QA_LLM")
    serve_parser.set_defaults(func=cmd_serve)

    ask_parser = sub.add_parser("ask", help="提问并显示带出处的回答 (ask a question)")
    ask_parser.add_argument("question", help='问题，例如 "瓜山未来社区建成开放的是哪家酒店？"')
    ask_parser.add_argument("--llm", choices=LLM_CHOICES, help="回答后端，覆盖 ARCHIVE_QA_LLM")
    ask_parser.add_argument("--json", action="store_true", help="输出完整 Answer 的 JSON")
    ask_parser.add_argument(
        "--cite",
        action="store_true",
        help="另列可粘贴的引用格式（《报名》日期，期号，版次，《标题》。）",
    )
    ask_parser.add_argument("--paper", action="append", default=[], help="只查这份报纸（可重复）")
    ask_parser.add_argument("--date-from", help="起始日期 YYYY-MM-DD")
    ask_parser.add_argument("--date-to", help="截止日期 YYYY-MM-DD")
    ask_parser.set_defaults(func=cmd_ask)

    eval_parser = sub.add_parser("eval", help="用 JSONL 测试集评测 (evaluate on a test set)")
    eval_parser.add_argument("file", nargs="?", help="测试集 JSONL")
    eval_parser.add_argument(
        "--retrieval-only", action="store_true", help="只评检索，不生成回答 (retrieval only)"
    )
    eval_parser.add_argument("--llm", choices=LLM_CHOICES, help="回答后端，覆盖 ARCHIVE_QA_LLM")
    eval_parser.add_argument(
        "--split",
        choices=["tune", "holdout"],
        help="只评 eval/splits.json 中的 tune（调参用）或 holdout（报告用）部分",
    )
    eval_parser.add_argument(
        "--context-only",
        action="store_true",
        help="只量证据原文是否进入模型读到的摘句（不调用模型）",
    )
    eval_parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="只评约 N 题：按题型分层、按题号哈希取的固定样本（慢机器上用）",
    )
    eval_parser.add_argument("--k", type=int, default=5, help="每题取回的段落数")
    eval_parser.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid")
    eval_parser.add_argument(
        "--out",
        help="写出 summary.json、questions.jsonl 与 report.html 的目录（--compare 时为对比报告目录）",
    )
    eval_parser.add_argument(
        "--reference",
        metavar="SOURCE",
        help="同时用 Chatchat 式参照管线回答（SOURCE：原始报纸文件夹或 docs.jsonl），并排对比",
    )
    tapes = eval_parser.add_mutually_exclusive_group()
    tapes.add_argument(
        "--record-tape", metavar="FILE", help="录制模型的每个回答（供 --replay-tape）"
    )
    tapes.add_argument(
        "--replay-tape", metavar="FILE", help="不运行模型，重放录制的回答（调整回答判定用）"
    )
    eval_parser.add_argument("--compare", nargs=2, metavar=("A", "B"), help="并排比较两次结果")
    eval_parser.set_defaults(func=cmd_eval)

    bench_parser = sub.add_parser("bench", help="性能测试 (benchmarks)")
    bench_parser.add_argument(
        "target",
        choices=["parse", "crud", "llm", "scale"],
        help="parse: 解析速度；crud: 检索基准；llm: 本地语言模型速度；scale: 扩容测试（不重新向量化）",
    )
    bench_parser.add_argument(
        "--files", type=int, default=1000, help="parse: 文件数 (default 1000)"
    )
    bench_parser.add_argument("--docs", type=int, default=3000, help="crud: 文档数 (default 3000)")
    bench_parser.add_argument("--source", help="parse: 样本报纸文件夹 (seeds)；crud: 基准目录")
    bench_parser.add_argument("--out", help="crud: 写出 summary.json 的目录")
    bench_parser.add_argument(
        "--store",
        choices=("faiss", "milvus"),
        default="faiss",
        help="crud: milvus = 同样的段落与向量再放入 Milvus 测一遍，与 FAISS 并列；scale: 被测存储",
    )
    bench_parser.add_argument(
        "--from-index",
        default="eval-out/crud-index",
        help="scale: bench crud --keep-index 建好的 CRUD 索引",
    )
    bench_parser.add_argument(
        "--sizes", type=int, nargs="+", default=[200_000], help="scale: 段落数 (default 200000)"
    )
    bench_parser.add_argument("--queries", type=int, default=50, help="scale: 测时问题数")
    bench_parser.add_argument(
        "--keep-index", help="crud: 保留建好的索引到此目录（用于回答评测 ARCHIVE_QA_INDEX_DIR）"
    )
    bench_parser.add_argument(
        "--compare-in-process",
        action="store_true",
        help="llm: 同时在本进程内运行模型，对照独立模型进程的首 token 时间",
    )
    bench_parser.set_defaults(func=cmd_bench)
    for model_parser in (eval_parser, bench_parser):
        model_parser.add_argument("--side-by-side", action="store_true", help=SIDE_BY_SIDE_HELP)
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
