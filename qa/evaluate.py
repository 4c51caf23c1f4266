"""Scripted evaluation over a JSONL test set (format and metrics: DESIGN.md section 6)."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from tqdm import tqdm

from index.errors import ArchiveQAError
from qa.answer import Answer, Answerer, format_passages
from qa.citations import marker_numbers, support
from qa.condense import condense
from qa.metrics import normalize
from qa.retrieve import Hit, HybridRetriever

SUPPORT_THRESHOLD = 0.8
HIT_KS = (1, 3, 5)
MRR_DEPTH = 10


def supports(quote: str, passage_text: str) -> bool:
    """The longest common substring covers at least 80% of the normalised quote."""
    needle, haystack = normalize(quote), normalize(passage_text)
    if not needle:
        return False
    if needle in haystack:
        return True
    match = SequenceMatcher(None, needle, haystack, autojunk=False).find_longest_match()
    return match.size >= SUPPORT_THRESHOLD * len(needle)


def load_test_set(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise ArchiveQAError("测试集文件不存在", source=str(path))
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ArchiveQAError(
                f"第 {number} 行不是合法的 JSON：{exc.msg}", source=str(path)
            ) from exc
        if not isinstance(row, dict) or "question" not in row:
            raise ArchiveQAError(f"第 {number} 行缺少 question 字段", source=str(path))
        row.setdefault("id", f"q{number}")
        row.setdefault("type", "unknown")
        row.setdefault("evidence", [])
        row.setdefault("history", [])
        questions.append(row)
    if not questions:
        raise ArchiveQAError("测试集为空", source=str(path))
    return questions


def retrieval_query(question: dict[str, Any]) -> str:
    """What retrieval searches for. A follow-up carries the user's earlier questions along,
    so that "那它什么时候完工？" still finds the subject named before."""
    earlier = [
        turn["content"] for turn in question.get("history", []) if turn.get("role") == "user"
    ]
    return " ".join([*earlier[-2:], question["question"]])


def first_supporting_rank(question: dict[str, Any], hits: list[Hit]) -> tuple[int | None, set[int]]:
    """Rank (1-based) of the first passage supporting any evidence quote, and which quotes
    (by index) the top-5 passages support."""
    first: int | None = None
    covered: set[int] = set()
    for rank, hit in enumerate(hits, start=1):
        for number, evidence in enumerate(question["evidence"]):
            if hit.passage.source_file != evidence["file"]:
                continue
            if supports(evidence["quote"], hit.passage.text):
                first = first or rank
                if rank <= 5:
                    covered.add(number)
    return first, covered


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass
class QuestionResult:
    id: str
    type: str
    answerable: bool
    query: str
    first_rank: int | None
    recall5: float
    latency_ms: float
    top_dense: float
    top_coverage: float
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    answer: AnswerCheck | None = None
    question: dict[str, Any] = field(default_factory=dict)  # as the test set gives it

    def to_dict(self) -> dict[str, Any]:
        answer = self.answer.to_dict() if self.answer else {}
        return {
            "id": self.id,
            "type": self.type,
            "answerable": self.answerable,
            "question": self.question.get("question", ""),
            "gold_answer": self.question.get("answer", ""),
            "must_include": self.question.get("must_include", []),
            "evidence": self.question.get("evidence", []),
            "standalone_question": self.query,
            **answer,
            "first_supporting_rank": self.first_rank,
            "recall@5": self.recall5,
            "latency_ms": round(self.latency_ms, 2),
            "top_dense_score": self.top_dense,
            "top_coverage": self.top_coverage,
            "retrieved": self.retrieved,
        }


@dataclass
class AnswerCheck:
    """One generated answer scored against the test set (DESIGN.md section 6)."""

    answer: Answer
    correct: bool
    citations_total: int  # (sentence, cited passage) pairs
    citations_good: int  # of those, the passage supports an evidence quote or the sentence
    dangling_markers: int  # markers in the shown text that map to no citation
    # An answer to an answerable question none of whose cited passages prints an evidence
    # quote: its fact came from another article (or another part of the issue).
    off_evidence: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "standalone_question": self.answer.standalone_question,
            "answer": self.answer.text,
            "refused": self.answer.refused,
            "correct": self.correct,
            "citations": [
                {
                    "number": c.number,
                    "label": c.label,
                    "quote": c.quote,
                    "file": c.passage["source_file"],
                }
                for c in self.answer.citations
            ],
            "sentences": [
                {"text": s.text, "cited": s.cited, "supported": s.supported}
                for s in self.answer.sentences
            ],
            "notices": self.answer.notices,
            "off_evidence": self.off_evidence,
            "verdict": self.answer.verdict,
            "timings": self.answer.timings,
            "answer_seconds": self.answer.timings.get("total_s", 0.0),
        }


def is_correct(question: dict[str, Any], text: str, refused: bool) -> bool:
    """DESIGN.md section 6: every must_include string in the answer, or a refusal when
    the question has no evidence."""
    if not question["evidence"]:
        return refused
    flat = normalize(text)
    return not refused and all(normalize(item) in flat for item in question.get("must_include", []))


def check_answer_against(
    question: dict[str, Any], answer: Answer, support_threshold: float
) -> AnswerCheck:
    """Correctness (every must_include string, or a refusal when there is no evidence) and
    citation precision counts."""
    correct = is_correct(question, answer.text, answer.refused)
    for candidate in answer.verdict.get("candidates", []):  # labels for fitting the verdict
        candidate["correct"] = is_correct(question, candidate["text"], refused=False)
    by_number = {c.number: c for c in answer.citations}

    def backs_evidence(passage: dict[str, Any]) -> bool:
        return any(
            evidence["file"] == passage["source_file"]
            and supports(evidence["quote"], passage["text"])
            for evidence in question["evidence"]
        )

    total = good = 0
    for sentence in answer.sentences:
        for number in sentence.cited:
            passage = by_number[number].passage
            total += 1
            if (
                backs_evidence(passage)
                or support(sentence.text, passage["text"]) >= support_threshold
            ):
                good += 1
    dangling = sum(1 for n in marker_numbers(answer.text) if n not in by_number)
    off_evidence = (
        bool(question["evidence"])
        and not answer.refused
        and bool(answer.citations)
        and not any(backs_evidence(c.passage) for c in answer.citations)
    )
    return AnswerCheck(answer, correct, total, good, dangling, off_evidence)


def evaluate_answers(
    questions: list[dict[str, Any]],
    results: list[QuestionResult],
    answerer: Answerer,
    *,
    progress: bool = True,
) -> None:
    """Answer every question and attach the scored answer to its retrieval result."""
    threshold = answerer.settings.citation_support
    for question, result in tqdm(
        list(zip(questions, results, strict=True)), desc="回答", unit="题", disable=not progress
    ):
        answer = answerer.ask(question["question"], question.get("history") or [])
        result.answer = check_answer_against(question, answer, threshold)


def context_reach(
    questions: list[dict[str, Any]], read: Callable[[dict[str, Any]], str]
) -> dict[str, Any]:
    """Does the evidence reach what the model reads? ``read`` gives the text a model would
    read for a question (`answer_context` for ours, the reference's chunks for it); no
    model call. The share of evidence quotes that text supports, the share of questions
    with all of theirs, by type, and the text's length."""
    reached: dict[str, list[float]] = defaultdict(list)
    complete: dict[str, list[float]] = defaultdict(list)
    lengths = []
    for question in questions:
        if not question["evidence"]:
            continue
        text = read(question)
        lengths.append(len(text))
        found = [supports(e["quote"], text) for e in question["evidence"]]
        for kind in ("全部 overall", question["type"]):
            reached[kind] += [float(f) for f in found]
            complete[kind].append(float(all(found)))
    return {
        kind: {
            "questions": len(complete[kind]),
            "evidence_in_context": _mean(reached[kind]),
            "questions_with_all_evidence": _mean(complete[kind]),
        }
        for kind in reached
    } | {"context_chars_p50": round(percentile(lengths, 50)) if lengths else 0}


def answer_context(answerer: Answerer) -> Callable[[dict[str, Any]], str]:
    """What our model reads for a question: retrieval and context selection as in an
    answer (follow-ups rewritten by the rule)."""

    def read(question: dict[str, Any]) -> str:
        query = condense(question["question"], question.get("history") or [], None)
        _, hits, parts = answerer.retrieve(query)
        return format_passages(answerer.context(hits, answerer.part_weights(parts))) if hits else ""

    return read


def model_was_right(result: QuestionResult) -> bool:
    """Was the model's own (citation-checked) answer a correct one?"""
    candidates = result.answer.answer.verdict.get("candidates", []) if result.answer else []
    return any(c["kind"] == "model" and c.get("correct") for c in candidates)


def answer_metrics(results: list[QuestionResult]) -> dict[str, Any]:
    """answer_accuracy, refusal precision/recall, citation precision, answer latency."""
    checked = [r for r in results if r.answer]
    if not checked:
        return {}
    refused = [r for r in checked if r.answer.answer.refused]
    unanswerable = [r for r in checked if not r.answerable]
    true_refusals = [r for r in refused if not r.answerable]
    total = sum(r.answer.citations_total for r in checked)
    cited = [
        r
        for r in checked
        if r.answerable and not r.answer.answer.refused and r.answer.answer.citations
    ]
    seconds = [r.answer.answer.timings.get("total_s", 0.0) for r in checked]
    first_tokens = [
        r.answer.answer.timings["first_token_s"]
        for r in checked
        if "first_token_s" in r.answer.answer.timings
    ]
    tokens = {
        f"{key}_p50": round(percentile(values, 50))
        for key in ("prompt_tokens", "read_tokens", "completion_tokens")
        if (values := [r.answer.answer.timings[f"model_{key}"] for r in checked
                       if f"model_{key}" in r.answer.answer.timings])
    }  # fmt: skip
    overhead = [
        (t["total_s"] - t["model_total_s"]) / t["total_s"]
        for t in (r.answer.answer.timings for r in checked)
        if t.get("model_total_s") and t.get("total_s")
    ]  # what the pipeline adds to the model's own compute (retrieval, context, checks)
    if overhead:
        tokens["pipeline_overhead_p50"] = round(percentile(overhead, 50), 4)
    # The extra model calls (qa/answer.py): a lost part's own answer, the uncertain band's
    # second look; how often they happen and what they cost.
    for name, key in (("part_call", "part_s"), ("second_look", "second_look_s")):
        extra = [r.answer.answer.timings[key] for r in checked if key in r.answer.answer.timings]
        if extra:
            tokens |= {
                f"{name}_share": round(len(extra) / len(checked), 4),
                f"{name}_p50_s": round(percentile(extra, 50), 2),
                f"{name}_p95_s": round(percentile(extra, 95), 2),
            }
    return {
        **tokens,
        "answer_accuracy": _mean([1.0 if r.answer.correct else 0.0 for r in checked]),
        "refusal_precision": round(len(true_refusals) / len(refused), 4) if refused else 1.0,
        "refusal_recall": (
            round(len(true_refusals) / len(unanswerable), 4) if unanswerable else 1.0
        ),
        "citation_precision": (
            round(sum(r.answer.citations_good for r in checked) / total, 4) if total else 1.0
        ),
        "answers_with_dangling_markers": sum(1 for r in checked if r.answer.dangling_markers),
        # Of the answerable questions answered with citations, the share whose cited
        # passages print no evidence quote: the fact came from a neighbouring article.
        "off_evidence_share": (
            round(sum(r.answer.off_evidence for r in cited) / len(cited), 4) if cited else 0.0
        ),
        # Answerable questions the model itself answered right whose shipped answer is
        # wrong (the verdict traded a right answer for an extract or a refusal).
        "model_right_shipped_wrong": sum(
            1 for r in checked if r.answerable and not r.answer.correct and model_was_right(r)
        ),
        "model_right": sum(1 for r in checked if r.answerable and model_was_right(r)),
        "answer_p50_s": round(percentile(seconds, 50), 2),
        "answer_p95_s": round(percentile(seconds, 95), 2),
        "first_token_p50_s": round(percentile(first_tokens, 50), 2) if first_tokens else None,
    }


def evaluate_retrieval(
    questions: list[dict[str, Any]], retriever: HybridRetriever, *, progress: bool = True
) -> list[QuestionResult]:
    retriever.search(questions[0]["question"])  # warm-up: model and tokenizer caches
    results = []
    for question in tqdm(questions, desc="评测", unit="题", disable=not progress):
        query = retrieval_query(question)
        found = retriever.search(query, k=MRR_DEPTH)
        first, covered = first_supporting_rank(question, found.hits)
        evidence = question["evidence"]
        results.append(
            QuestionResult(
                id=question["id"],
                type=question["type"],
                answerable=bool(evidence),
                query=query,
                first_rank=first,
                recall5=len(covered) / len(evidence) if evidence else 0.0,
                latency_ms=found.seconds * 1000,
                top_dense=max((hit.dense_score for hit in found.hits), default=0.0),
                top_coverage=max((hit.coverage for hit in found.hits), default=0.0),
                question=question,
                retrieved=[
                    {
                        "file": hit.passage.source_file,
                        "title": hit.passage.title,
                        "text": hit.passage.text,
                        "score": round(hit.score, 6),
                        "dense_score": round(hit.dense_score, 4),
                        "bm25_score": round(hit.bm25_score, 3),
                        "coverage": round(hit.coverage, 3),
                    }
                    for hit in found.hits
                ],
            )
        )
    return results


def retrieval_metrics(results: list[QuestionResult]) -> dict[str, Any]:
    """hit@k, recall@5 and MRR@10 over answerable questions; latency over all."""
    answerable = [r for r in results if r.answerable]
    n = len(answerable)
    metrics: dict[str, Any] = {"n": n}
    for k in HIT_KS:
        metrics[f"hit@{k}"] = _mean(
            [1.0 if r.first_rank and r.first_rank <= k else 0.0 for r in answerable]
        )
    metrics["recall@5"] = _mean([r.recall5 for r in answerable])
    metrics["mrr@10"] = _mean([1 / r.first_rank if r.first_rank else 0.0 for r in answerable])
    latencies = [r.latency_ms for r in results]
    metrics["latency_p50_ms"] = round(percentile(latencies, 50), 2)
    metrics["latency_p95_ms"] = round(percentile(latencies, 95), 2)
    return metrics


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def summarize(results: list[QuestionResult]) -> dict[str, Any]:
    summary = {**retrieval_metrics(results), **answer_metrics(results)}
    by_type: dict[str, list[QuestionResult]] = defaultdict(list)
    for result in results:
        by_type[result.type].append(result)
    summary["by_type"] = {
        name: {**retrieval_metrics(group), **answer_metrics(group)}
        for name, group in sorted(by_type.items())
    }
    summary["questions"] = len(results)
    for key, attribute in (("top_dense_score", "top_dense"), ("top_coverage", "top_coverage")):
        summary[key] = {
            group: _distribution([getattr(r, attribute) for r in results if r.answerable == flag])
            for group, flag in (("answerable", True), ("unanswerable", False))
        }
    return summary


def _distribution(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "min": round(min(values), 4),
        "p10": round(percentile(values, 10), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
    }


TABLE_KEYS = (
    "n",
    "hit@1",
    "hit@3",
    "hit@5",
    "recall@5",
    "mrr@10",
    "latency_p50_ms",
    "latency_p95_ms",
)
ANSWER_TABLE_KEYS = (
    "answer_accuracy",
    "refusal_precision",
    "refusal_recall",
    "citation_precision",
    "answer_p50_s",
    "answer_p95_s",
)


def format_table(summary: dict[str, Any]) -> str:
    """Retrieval metrics, then (when answers were generated) answer metrics, by type."""
    rows = [("全部 overall", summary), *summary.get("by_type", {}).items()]
    tables = [TABLE_KEYS]
    if "answer_accuracy" in summary:
        tables.append(ANSWER_TABLE_KEYS)
    blocks = []
    for keys in tables:
        header = f"{'类型 type':<16}" + "".join(f"{key:>19}" for key in keys)
        lines = [header, "-" * len(header)]
        for name, metrics in rows:
            lines.append(f"{name:<16}" + "".join(f"{metrics.get(key, '-'):>19}" for key in keys))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def write_run(out_dir: Path, summary: dict[str, Any], results: list[QuestionResult]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    with (out_dir / "questions.jsonl").open("w", encoding="utf-8") as handle:
        for result in results:
            handle.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")


def side_by_side(summaries: list[dict[str, Any]], names: list[str]) -> str:
    """The numeric figures two runs share, side by side, with the difference."""
    first, second = summaries
    keys = [k for k in first if isinstance(first[k], int | float) and k in second]
    lines = [f"{'指标 metric':<20}{names[0]:>24}{names[1]:>24}{'右−左 diff':>12}"]
    for key in keys:
        a, b = first[key], second[key]
        if isinstance(b, int | float):
            lines.append(f"{key:<20}{a:>24}{b:>24}{b - a:>+12.4f}")
    return "\n".join(lines)


def compare_runs(first: Path, second: Path) -> str:
    """Two runs' summaries side by side, with the difference."""
    summaries = []
    for folder in (first, second):
        path = folder / "summary.json" if folder.is_dir() else folder
        if not path.exists():
            raise ArchiveQAError("找不到 summary.json", source=str(path))
        summaries.append(json.loads(path.read_text(encoding="utf-8")))
    return side_by_side(summaries, [str(first), str(second)])


def evaluate_reference(
    questions: list[dict[str, Any]],
    results: list[QuestionResult],
    pipeline: Any,
    support_threshold: float,
    *,
    progress: bool = True,
) -> list[QuestionResult]:
    """The same questions answered by the Chatchat-style reference (`qa.reference`): copies
    of the retrieval results with the reference's scored answers. It cites no sentence, so
    its citation precision is not defined (left out of its summary)."""
    answered = []
    for question, result in tqdm(
        list(zip(questions, results, strict=True)), desc="参照", unit="题", disable=not progress
    ):
        answer = pipeline.ask(question["question"], question.get("history") or [])
        answered.append(
            replace(result, answer=check_answer_against(question, answer, support_threshold))
        )
    return answered
