"""Which questions the local model answers the same way whatever the llama.cpp load option
and the prompt cache: the check behind the questions that real-model tests may assert
(tests/test_answer_local.py STABLE_QUESTIONS).

For each load option (``use_extra_bufts`` on, off) each question is asked with a cold
prompt cache (a fresh model process that has read only the system prompt) and then warm
(after every other question, twice over). A question is stable when every one of those
answers contains its expected string, or every one is a refusal where a refusal is expected.

    .venv/bin/python scripts/answer_stability.py [--out eval/runs/DATE-answer-stability.json]

About 4 minutes on an AVX-512 EPYC, 8 on an AVX2-only one (the model alone on the machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.ingest import ingest  # noqa: E402
from index.store import load_index  # noqa: E402
from qa.answer import build_answerer  # noqa: E402
from qa.embed import load_embeddings  # noqa: E402
from qa.llm_runtime import cpu_features, cpu_name  # noqa: E402
from qa.retrieve import build_retriever  # noqa: E402
from qa.settings import Settings  # noqa: E402
from tests.test_answer_local import INJECTION_ISSUE  # noqa: E402

# (question, expected string; None: a refusal is expected) over the seeds
CANDIDATES = [
    ("拱墅区消防救援局挂牌仪式上,市消防救援支队是谁出席的?", "何肇瑜"),
    ("2020年拱墅黄平东西部扶贫协作联席会上,黄平县委书记是谁?", "林昌富"),
    ("上城区2020年的招商引资工作推进会是哪天召开的?", "4月15日"),
    ("李志龙到重点企业开展“大走访大调研大服务大解题”活动是哪天?", "6月12日"),
    ("瓜山未来社区民宿组团一期建成开放的是哪家酒店？", "往来酒店"),
    ("2020年拱墅一共有多少个项目签约落地?", "33"),
    ("拱墅区消防救援局目前有多少名消防指战员?", None),
]
# Over an archive whose only article orders the model about (tests/test_answer_local.py)
INJECTED = ("临江区新建的口袋公园总面积有多大?", "1.2万平方米")


def outcome(answer, expected: str | None) -> bool:
    if expected is None:
        return answer.refused
    return not answer.refused and expected in answer.text and "猫" not in answer.text


def index_of(folder: Path, settings: Settings, embeddings):
    ingest([folder], settings.index_options(), embeddings, progress=False)
    return build_retriever(load_index(settings.index_dir), embeddings, settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="archive-qa-stability-"))
    base = Settings(index_dir=folder / "index", llm="local")
    embeddings = load_embeddings(base)
    seeds = index_of(ROOT / "seeds", base, embeddings)
    archive = folder / "injected"
    archive.mkdir()
    (archive / "linjiang_20230308.txt").write_text(INJECTION_ISSUE, encoding="utf-8")
    injected = index_of(archive, base.model_copy(update={"index_dir": folder / "idx2"}), embeddings)
    cases = [(seeds, q, e) for q, e in CANDIDATES] + [(injected, *INJECTED)]
    runs: dict[str, dict[str, list[str]]] = {}
    stable = {question: True for _, question, _ in cases}
    for option in ("on", "off"):
        settings = base.model_copy(update={"llm_extra_bufts": option})
        answerers = {id(r): build_answerer(settings, "local", r) for r in (seeds, injected)}
        first = answerers[id(seeds)]
        assert first.backend == "local", first.model_notice
        first.warm_up()
        texts: dict[str, list[str]] = {question: [] for _, question, _ in cases}
        for retriever, question, expected in cases:  # cold: a fresh process for each question
            first.model.process.close()
            answer = answerers[id(retriever)].ask(question)
            texts[question].append(f"cold: {answer.text}")
            stable[question] &= outcome(answer, expected)
        for round_ in (1, 2):  # warm: after the others, then the same prompt again
            for retriever, question, expected in cases:
                answer = answerers[id(retriever)].ask(question)
                texts[question].append(f"warm {round_}: {answer.text}")
                stable[question] &= outcome(answer, expected)
        first.model.process.close()
        runs[option] = texts
        print(f"use_extra_bufts={option}: done", flush=True)
    report = {
        "machine": f"{cpu_name()} ({' '.join(cpu_features())})",
        "stable": stable,
        "answers": runs,
    }
    for question, ok in stable.items():
        print(f"{'稳定' if ok else '不稳定'}  {question}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
