"""Damaged index files and model files: each gives a clear Chinese error that names the
command that fixes it, in the CLI (no traceback), and `archive-qa check --repair` restores
the index with every source it still holds."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from index.repair import repair_index
from index.store import ISSUES_FILE, MANIFEST, PASSAGES_FILE, VECTORS_FILE
from qa.reliability.report import Row
from qa.reliability.scratch import Scratch, run_cli

QUESTION = "瓜山未来社区建成开放的是哪家酒店？"
FIX_COMMANDS = ("check --repair", "ingest --rebuild", "make setup", "python -m qa.model_setup")


def generation(index_dir: Path) -> Path:
    return next(index_dir.glob("gen-*"))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) * 2 // 3] ^= 0x5A
    path.write_bytes(bytes(data))


def alter_manifest(index_dir: Path, change: Callable[[dict], None]) -> None:
    path = index_dir / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


# What can happen to an index folder on disk (a full disk, a copy cut short, an editor, an
# index from another installation), each as a change made to a sound index.
DAMAGES: dict[str, Callable[[Path], None]] = {
    "向量文件被截断": lambda d: truncate(generation(d) / VECTORS_FILE),
    "向量文件被改动一个字节": lambda d: flip_byte(generation(d) / VECTORS_FILE),
    "段落文件被截断": lambda d: truncate(generation(d) / PASSAGES_FILE),
    "段落文件被改动一个字节": lambda d: flip_byte(generation(d) / PASSAGES_FILE),
    "BM25 文件夹被删除": lambda d: shutil.rmtree(generation(d) / "bm25"),
    "文章文件被截断": lambda d: truncate(generation(d) / ISSUES_FILE),
    "清单被截断": lambda d: truncate(d / MANIFEST),
    "清单指向不存在的数据": lambda d: alter_manifest(d, lambda m: m.update(generation_dir="gen-9")),
    "清单来自另一个嵌入模型": lambda d: alter_manifest(
        d, lambda m: m["embedding"].update(model="bge-small-zh")
    ),
    "清单格式版本不对": lambda d: alter_manifest(d, lambda m: m.update(schema_version=1)),
}


QUICK_DAMAGES = ("向量文件被改动一个字节", "文章文件被截断")


def corrupt_rows(scratch: Scratch, base: Path, quick: bool) -> list[Row]:
    """Every damage (``quick``: two of them; tests/test_repair.py covers all of them with
    a stand-in embedding model)."""
    rows = []
    expected = scratch.state(base)
    for name, damage in DAMAGES.items():
        if quick and name not in QUICK_DAMAGES:
            continue
        index_dir = scratch.copy_index(base, "corrupt")
        damage(index_dir)
        code, printed = run_cli(["ask", QUESTION, "--llm", "none"], index_dir)
        message = printed.strip().splitlines()[-1] if printed.strip() else ""
        clear = code != 0 and "Traceback" not in printed and any(c in message for c in FIX_COMMANDS)
        report = repair_index(scratch.settings_for(index_dir).index_options(), scratch.embeddings)
        restored = scratch.state(index_dir)
        complete = restored.sources == expected.sources
        outcome = f"命令行：{message[:160]}；修复后 {restored.describe()}"
        if report.reparsed:
            outcome += f"（{len(report.reparsed)} 个来源从原文件重读）"
        rows.append(Row("损坏的索引", name, outcome, clear and complete, {"exit": code}))
    rows.extend(_model_rows(scratch, base))
    return rows


def _model_rows(scratch: Scratch, base: Path) -> list[Row]:
    """A missing embedding model folder and a cut GGUF file, through settings that point at
    them (the installed models are never touched)."""
    broken = scratch.root / "broken-models"
    broken.mkdir(exist_ok=True)
    gguf = broken / "model.gguf"
    gguf.write_bytes(b"GGUF" + bytes(1000))
    cases = {
        "嵌入模型文件夹不存在": (
            {"ARCHIVE_QA_EMBEDDING_MODEL_PATH": str(broken / "missing-e5")},
            ["ask", QUESTION, "--llm", "none"],
        ),
        "语言模型 GGUF 被截断": (
            {"ARCHIVE_QA_LLM_MODEL_PATH": str(gguf)},
            ["ask", QUESTION, "--llm", "local"],
        ),
    }
    rows = []
    for name, (env, args) in cases.items():
        code, printed = run_cli(args, base, env=env)
        lines = [line for line in printed.strip().splitlines() if line.strip()]
        said = " ".join(
            line for line in lines if "错误" in line or "不可用" in line or "模型" in line
        )
        clear = "Traceback" not in printed and bool(said)
        rows.append(Row("损坏的模型", name, f"退出码 {code}：{said[:200]}", clear, {"exit": code}))
    return rows
