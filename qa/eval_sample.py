"""`make eval-sample`: the fixed stratified samples of every dev set, answered by the local
model beside the same-run Chatchat-style reference, in one table.

About 60 questions (seed_dev, crud_dev, the public set, the near misses), the same on every
machine (`qa.splits.stratified_sample`). Every model reply, ours and the reference's, goes
onto a committed tape (``eval/tapes/<part>/<set>.json.gz``, written after every reply): a
run that is stopped resumes from what it paid for, and a run whose prompts did not change
replays in about a minute without reading a prompt. After each set the table so far is
written to ``eval/runs/<date>-<time>-<part>-<commit>.md``, so a stopped run leaves its rows.

    python -m qa.eval_sample [--part tune|holdout] [--only seed_dev ...]

Indexes live in ``eval-out/`` (git-ignored) and are built on first use: the five seed
issues in under a minute, the 3,000 CRUD-3k documents (13k passages) in 5-15 minutes on 2
cores; the reference's chunk vectors are cached beside them (`qa.reference`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.atomic_file import write_text_atomic
from qa.llm_runtime import cpu_features, cpu_name, load_options, read_record
from qa.markdown_table import markdown_table
from qa.model_turn import model_turn
from qa.settings import PROJECT_ROOT, get_settings

SHARED = PROJECT_ROOT.parent / "shared"
EVAL_OUT = PROJECT_ROOT / "eval-out"
INDEXES = {"seeds": EVAL_OUT / "seeds-index", "crud": EVAL_OUT / "crud-index"}


@dataclass(frozen=True)
class SampleSet:
    """One dev set's fixed sample and the archive it is asked over."""

    name: str
    questions: Path
    size: int
    archive: str  # a key of INDEXES
    reference_source: Path  # what the reference pipeline chunks (raw files or docs.jsonl)


SAMPLE_SETS = (
    SampleSet("seed_dev", PROJECT_ROOT / "eval" / "seed_dev.jsonl", 22, "seeds", PROJECT_ROOT / "seeds"),
    SampleSet("public", SHARED / "eval" / "public.jsonl", 7, "seeds", PROJECT_ROOT / "seeds"),
    SampleSet("seed_near_misses", PROJECT_ROOT / "eval" / "seed_near_misses.jsonl", 7, "seeds",
              PROJECT_ROOT / "seeds"),
    SampleSet("crud_dev", PROJECT_ROOT / "eval" / "crud_dev.jsonl", 24, "crud",
              SHARED / "bench" / "crud" / "docs.jsonl"),
)  # fmt: skip


def tape_path(part: str, sample: SampleSet, whole: bool = False) -> Path:
    """The set's committed tape: ``eval/tapes/<part>/`` for the sample, ``<part>-whole/`` for
    the whole part (the verdict's fit data)."""
    folder = f"{part}-whole" if whole else part
    return PROJECT_ROOT / "eval" / "tapes" / folder / f"{sample.name}.json.gz"


def _archive_qa(index: Path, *args: str) -> None:
    """Run ``archive-qa ARGS`` over the index in ``index``; raises when it fails."""
    env = os.environ | {"ARCHIVE_QA_INDEX_DIR": str(index)}
    subprocess.run([sys.executable, "-m", "qa.cli", *args], env=env, cwd=PROJECT_ROOT, check=True)


def ensure_index(archive: str) -> None:
    """Build the archive's index once (kept in eval-out/ between runs), saying what it cost."""
    folder = INDEXES[archive]
    if (folder / "manifest.json").exists():
        return
    started = time.monotonic()
    print(f"首次建立索引 {folder}（之后的运行直接使用）…", flush=True)
    if archive == "seeds":
        _archive_qa(folder, "ingest", str(PROJECT_ROOT / "seeds"))
    else:
        _archive_qa(
            folder, "bench", "crud", "--keep-index", str(folder), "--out", str(EVAL_OUT / "crud")
        )
    print(f"索引建好，用时 {(time.monotonic() - started) / 60:.1f} 分钟", flush=True)


def run_set(part: str, sample: SampleSet, whole: bool, reference: bool) -> dict[str, Any]:
    """Answer one set's sample, or its whole part (ours, and the reference's unless left
    out); its summary.json."""
    out = EVAL_OUT / ("whole" if whole else "sample") / part / sample.name
    args = ["eval", str(sample.questions), "--split", part, "--llm", "local",
            "--record-tape", str(tape_path(part, sample, whole)), "--out", str(out),
            "--side-by-side"]  # fmt: skip
    if not whole:
        args += ["--sample", str(sample.size)]
    if reference:
        args += ["--reference", str(sample.reference_source)]
    _archive_qa(INDEXES[sample.archive], *args)
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _pair(first: Any, second: Any) -> str:
    return f"{first} / {second}"


def table_row(name: str, summary: dict[str, Any]) -> dict[str, Any]:
    """One line of the run's table from an eval summary (with its reference)."""
    reference = summary.get("reference", {})
    replayed = summary["config"].get("replayed_prompts", 0)
    return {
        "set": name,
        "questions": summary["questions"],
        "archive-qa": summary["answer_accuracy"],
        "reference": reference.get("answer_accuracy"),
        "refusal P / R": _pair(summary["refusal_precision"], summary["refusal_recall"]),
        "reference refusal P / R": _pair(
            reference.get("refusal_precision"), reference.get("refusal_recall")
        ),
        "citation precision": summary["citation_precision"],
        "shipped worse than the model's own": _pair(
            summary["model_right_shipped_wrong"], summary["model_right"]
        ),
        "answer p50 ours / reference (s)": (
            "replayed"
            if replayed
            else _pair(summary["answer_p50_s"], reference.get("answer_p50_s"))
        ),
        "answers citing no evidence passage ours / reference": _pair(
            summary.get("off_evidence_share"), reference.get("off_evidence_share")
        ),
        "part calls / second looks (share of questions)": _pair(
            summary.get("part_call_share", 0), summary.get("second_look_share", 0)
        ),
        "replayed prompts": replayed,
    }


def total_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """All sets together: accuracies weighted by questions."""
    count = sum(row["questions"] for row in rows)

    def weighted(key: str) -> float | None:
        if any(row[key] is None for row in rows):
            return None
        return round(sum(row[key] * row["questions"] for row in rows) / count, 4)

    return dict.fromkeys(rows[0], "") | {
        "set": "**all**",
        "questions": count,
        "archive-qa": weighted("archive-qa"),
        "reference": weighted("reference"),
        "replayed prompts": sum(row["replayed prompts"] for row in rows),
    }


def machine_lines() -> list[str]:
    """Which machine the figures came from (CPU, flags, llama.cpp load option and speed)."""
    settings = get_settings()
    options = load_options(settings).to_dict()
    tried = (read_record(settings.llm_model_path) or {}).get("tried", [])
    speed = next((t for t in tried if t.get("options") == options and t.get("ok")), {})
    lines = [
        f"- machine: {cpu_name()}, {os.cpu_count()} cores; flags: {' '.join(cpu_features())}",
        f"- llama.cpp load options: {options}",
    ]
    if speed:
        lines.append(
            f"- llama.cpp speed (set-up's self-check): {speed['prompt_tokens_per_s']} prompt / "
            f"{speed['gen_tokens_per_s']} generated tokens/s"
        )
    return lines


def code_version() -> str:
    """The commit the run's code is at, "-dirty" when tracked files differ from it, leaving
    out the tapes and run tables (a recording changes those itself)."""

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                check=False)  # fmt: skip
        return result.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  ":(exclude)eval/tapes", ":(exclude)eval/runs")  # fmt: skip
    return f"{commit}-dirty" if changed else commit


def write_table(path: Path, title: str, about: list[str], rows: list[dict[str, Any]],
                done: bool, minutes: float) -> None:  # fmt: skip
    """The run's table so far; ``about`` names the commit and the machine."""
    state = "complete" if done else "partial (stopped or still running)"
    text = "\n".join([
        f"# eval-sample, {title} — {state}",
        "",
        f"- run: {dt.datetime.now().isoformat(timespec='minutes')}, {minutes:.1f} min",
        *about,
        "- replayed prompts: answered from the committed tape (their latencies are not measured)",
        "",
        markdown_table([*rows, total_row(rows)]),
        "",
    ])  # fmt: skip
    write_text_atomic(path, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.eval_sample", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--part", choices=["tune", "holdout"], default="tune")
    parser.add_argument("--only", nargs="+", choices=[s.name for s in SAMPLE_SETS])
    parser.add_argument("--whole", action="store_true",
                        help="the whole part of every set, not the fixed sample "
                        "(tapes in eval/tapes/<part>-whole/)")  # fmt: skip
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="leave the same-run reference out (a recording for the verdict's fit)",
    )
    args = parser.parse_args(argv)
    chosen = [s for s in SAMPLE_SETS if not args.only or s.name in args.only]
    missing = [str(s.questions) for s in chosen if not s.questions.exists()]
    if missing:
        print(f"缺少测试集：{', '.join(missing)}（../shared 不在本机？）", file=sys.stderr)
        return 2
    settings = get_settings()
    version = code_version()
    about = [
        f"- commit {version}; verdict band {settings.verdict_band} (second looks)",
        *machine_lines(),
    ]
    stamp = dt.datetime.now().strftime("%Y-%m-%d-%H%M")
    name = f"{args.part}-whole" if args.whole else args.part
    title = f"{'whole ' if args.whole else ''}{args.part} part"
    table = PROJECT_ROOT / "eval" / "runs" / f"{stamp}-{name}-{version}.md"
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    with model_turn(settings.model_turn_lock, "make eval-sample"):
        for sample in chosen:
            ensure_index(sample.archive)
            summary = run_set(args.part, sample, args.whole, not args.no_reference)
            rows.append(table_row(sample.name, summary))
            minutes = (time.monotonic() - started) / 60
            write_table(table, title, about, rows, sample is chosen[-1], minutes)
    print(f"\n{table.read_text(encoding='utf-8')}")
    print(f"表格已写入 {table.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
