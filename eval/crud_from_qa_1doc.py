"""Write eval/crud_dev.jsonl from CRUD-3k's qa_1doc.jsonl (DESIGN.md section 6 format).

Usage: python eval/crud_from_qa_1doc.py [../shared/bench/crud]

Each RAGQuestEval question becomes a row whose evidence is the sentence of its evidence
document that prints the gold answer, and whose must_include is the gold answer (a list of
short items "甲、乙、丙" is split into its items: every item must be named, in any order).
The 3 original CRUD items are left out: their reference answers are paragraphs, which no
string test can score. Rows written by hand (ids starting with "crud_own_") are kept as they
are. Run it again after the shared data changes; the split file keeps its assignments.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "crud_dev.jsonl"
SENTENCE_END = re.compile(r"(?<=[。！？\n])")
TYPES = (
    ("person", re.compile(r"谁|哪位|哪名")),
    ("date", re.compile(r"何时|什么时候|哪一天|哪天|哪年|哪一年|几月|日期")),
    ("number", re.compile(r"多少|几")),
    ("list", re.compile(r"哪些|哪几")),
)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def question_type(question: str) -> str:
    return next((name for name, words in TYPES if words.search(question)), "fact")


def answer_items(answer: str) -> list[str]:
    parts = answer.split("、")
    if len(parts) > 1 and "和" in parts[-1]:
        parts[-1:] = parts[-1].split("和", 1)
    parts = [p.strip() for p in parts]
    parts[-1] = re.sub(r"等\w{0,2}$", "", parts[-1])  # "荆门等地" names 荆门
    if len(parts) > 1 and all(1 < len(p) <= 8 and not re.search(r"[的（(]", p) for p in parts):
        return parts
    return [answer]


def evidence_quote(text: str, answer: str) -> str:
    """The (stripped) sentence of ``text`` that prints ``answer``; the whole text when the
    answer spans sentences."""
    wanted = flat(answer)
    for sentence in SENTENCE_END.split(text):
        if wanted in flat(sentence):
            return sentence.strip()
    return text.strip()


def main(argv: list[str]) -> int:
    crud = Path(argv[0]) if argv else HERE.parent.parent / "shared" / "bench" / "crud"
    docs = {}
    for line in (crud / "docs.jsonl").read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        docs[doc["id"]] = doc
    rows = []
    for line in (crud / "qa_1doc.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["question_source"] != "crud_ragquesteval_gt":
            continue
        doc_id = item["evidence"][0]
        rows.append(
            {
                "id": item["id"],
                "type": question_type(item["question"]),
                "question": item["question"],
                "answer": item["answer"],
                "must_include": answer_items(item["answer"]),
                "evidence": [
                    {"file": doc_id, "quote": evidence_quote(docs[doc_id]["text"], item["answer"])}
                ],
                "history": [],
            }
        )
    if OUT.exists():
        rows += [
            json.loads(line)
            for line in OUT.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["id"].startswith("crud_own_")
        ]
    OUT.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    print(f"{len(rows)} questions → {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
