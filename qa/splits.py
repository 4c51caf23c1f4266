"""Fixed tune / holdout parts of every question set the project learns from.

Settings, prompts and rules are chosen on the tune part; figures are reported on the
holdout part (README, "回答指标"). The assignment lives in ``eval/splits.json``, in the
repository, and never moves: ``python -m qa.splits FILE...`` only assigns questions that
are new, balanced per question type by a hash of their id, so nobody picks which
question lands where.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from index.atomic_file import write_text_atomic
from index.errors import ArchiveQAError
from qa.settings import PROJECT_ROOT

SPLITS_FILE = PROJECT_ROOT / "eval" / "splits.json"
PARTS = ("tune", "holdout")
Part = Literal["tune", "holdout"]


def read_splits(path: Path = SPLITS_FILE) -> dict[str, dict[str, list[str]]]:
    """Set name (the question file's name) → part → question ids."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))["sets"]
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise ArchiveQAError(f"划分文件无法读取（{exc}）", source=str(path)) from exc


def _order(set_name: str, question_id: str) -> str:
    return hashlib.sha256(f"{set_name}:{question_id}".encode()).hexdigest()


def assign(
    set_name: str, questions: list[dict[str, Any]], existing: dict[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """The parts of ``set_name`` with every question of ``questions`` in one of them.

    Existing assignments stay. New questions are taken per type in hash order and each
    goes to the part that has fewer questions of that type so far.
    """
    parts = {part: list((existing or {}).get(part, [])) for part in PARTS}
    assigned = {qid for ids in parts.values() for qid in ids}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(PARTS, 0))
    by_type: dict[str, list[str]] = defaultdict(list)
    for question in questions:
        kind = question.get("type", "unknown")
        if question["id"] in assigned:
            part = "tune" if question["id"] in parts["tune"] else "holdout"
            counts[kind][part] += 1
        else:
            by_type[kind].append(question["id"])
    for kind, ids in sorted(by_type.items()):
        for qid in sorted(ids, key=lambda q: _order(set_name, q)):
            part = min(PARTS, key=lambda p: (counts[kind][p], PARTS.index(p) ^ 1))
            parts[part].append(qid)
            counts[kind][part] += 1
    return parts


def select(
    questions: list[dict[str, Any]], set_name: str, part: Part, path: Path = SPLITS_FILE
) -> list[dict[str, Any]]:
    """The questions of ``part``; every question of the set must have been assigned."""
    splits = read_splits(path)
    if set_name not in splits:
        raise ArchiveQAError(
            f"测试集 {set_name} 还没有划分 tune/holdout：运行 python -m qa.splits 该文件",
            source=str(path),
        )
    ids = set(splits[set_name][part])
    unassigned = [
        q["id"] for q in questions if q["id"] not in ids | set(splits[set_name][_other(part)])
    ]
    if unassigned:
        raise ArchiveQAError(
            f"{len(unassigned)} 道题未划分（如 {unassigned[0]}）：运行 python -m qa.splits {set_name}",
            source=str(path),
        )
    return [q for q in questions if q["id"] in ids]


def stratified_sample(
    questions: list[dict[str, Any]], set_name: str, size: int
) -> list[dict[str, Any]]:
    """About ``size`` of ``questions``, each type in proportion (at least one of each),
    taken in sha256(set:id) order: the same sample on every machine, for runs on a CPU
    too slow for a whole part. Returned in the set's order."""
    if size >= len(questions):
        return questions
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for question in questions:
        by_type[question.get("type", "unknown")].append(question)
    share = size / len(questions)
    chosen = {
        q["id"]
        for group in by_type.values()
        for q in sorted(group, key=lambda q: _order(set_name, q["id"]))[
            : max(1, round(len(group) * share))
        ]
    }
    return [q for q in questions if q["id"] in chosen]


def _other(part: Part) -> Part:
    return "holdout" if part == "tune" else "tune"


def write_splits(splits: dict[str, dict[str, list[str]]], path: Path = SPLITS_FILE) -> None:
    document = {
        "version": 1,
        "method": "per question type, in sha256(set:id) order, to the part with fewer; "
        "assignments never move",
        "sets": {name: splits[name] for name in sorted(splits)},
    }
    write_text_atomic(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    from qa.evaluate import load_test_set

    parser = argparse.ArgumentParser(
        description="给测试集中的新题分配 tune/holdout（已分配的不变）"
    )
    parser.add_argument("files", nargs="+", help="测试集 JSONL")
    args = parser.parse_args(argv)
    splits = read_splits()
    for name in args.files:
        path = Path(name)
        questions = load_test_set(path)
        splits[path.name] = assign(path.name, questions, splits.get(path.name))
        sizes = {part: len(splits[path.name][part]) for part in PARTS}
        print(f"{path.name}：tune {sizes['tune']} 题，holdout {sizes['holdout']} 题")
    write_splits(splits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
