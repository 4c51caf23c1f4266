"""report.html: an evaluation run, or two runs compared, as one page to look at.

The page is self-contained (inline SVG charts, inline CSS and a few lines of script for the
filters), so it opens offline and can be mailed. Everything from the test set or the
archive is escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from index.atomic_file import write_text_atomic
from index.errors import ArchiveQAError
from qa.report_charts import grouped_bars, histogram, precision_recall, reliability_diagram

REPORT_NAME = "report.html"
OVERALL = "全部"
SUMMARY_COLUMNS = (
    ("n", "可答题数"),
    ("hit@1", "hit@1"),
    ("hit@5", "hit@5"),
    ("mrr@10", "MRR@10"),
    ("answer_accuracy", "回答正确率"),
    ("refusal_precision", "拒答精确率"),
    ("refusal_recall", "拒答召回率"),
    ("citation_precision", "引用精确率"),
    ("answer_p50_s", "回答 p50 秒"),
    ("answer_p95_s", "回答 p95 秒"),
    ("latency_p50_ms", "检索 p50 毫秒"),
)
OUTCOME_NAMES = {
    "right": "正确",
    "wrong": "错误",
    "refused_right": "正确拒答",
    "refused_wrong": "误拒",
    "answered_wrong": "该拒未拒",
    "retrieval_hit": "检索命中",
    "retrieval_miss": "检索未命中",
}


@dataclass
class Run:
    """One `archive-qa eval --out` folder: its summary and per-question records."""

    name: str
    summary: dict[str, Any]
    questions: list[dict[str, Any]]

    @property
    def answered(self) -> bool:
        return "answer_accuracy" in self.summary

    @classmethod
    def read(cls, folder: Path) -> Run:
        summary_path, questions_path = folder / "summary.json", folder / "questions.jsonl"
        for path in (summary_path, questions_path):
            if not path.is_file():
                raise ArchiveQAError("不是评测结果目录（缺少该文件）", source=str(path))
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            lines = questions_path.read_text(encoding="utf-8").splitlines()
            questions = [json.loads(line) for line in lines if line.strip()]
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArchiveQAError(f"评测结果无法读取：{exc}", source=str(folder)) from exc
        return cls(str(folder), summary, questions)


def outcome(record: dict[str, Any]) -> str:
    """What happened to one question (a key of OUTCOME_NAMES)."""
    if "correct" not in record:
        return "retrieval_hit" if record.get("first_supporting_rank") else "retrieval_miss"
    if record["refused"]:
        return "refused_right" if not record["answerable"] else "refused_wrong"
    if not record["answerable"]:
        return "answered_wrong"
    return "right" if record["correct"] else "wrong"


def is_failure(record: dict[str, Any]) -> bool:
    return outcome(record) in ("wrong", "refused_wrong", "answered_wrong", "retrieval_miss")


def refusal_curve(questions: list[dict[str, Any]]) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) of refusing every question whose best verdict score
    is below the threshold (no candidate at all counts as score 0)."""
    scored = [
        (max((c["score"] for c in q.get("verdict", {}).get("candidates", [])), default=0.0),
         not q["answerable"])
        for q in questions if "correct" in q
    ]  # fmt: skip
    unanswerable = sum(flag for _, flag in scored)
    if not scored or not unanswerable:
        return []
    points = []
    for threshold in sorted({round(s, 3) for s, _ in scored} | {0.0, 1.01}):
        refused = [flag for score, flag in scored if score < threshold]
        if refused:
            right = sum(refused)
            points.append((threshold, right / len(refused), right / unanswerable))
    return points


CALIBRATION_BINS = 10


def calibration(questions: list[dict[str, Any]]) -> tuple[list[tuple[float, float, int]], float]:
    """The verdict's calibration over every candidate it scored: per probability bin
    (mean probability, share correct, count), and the expected calibration error (the
    count-weighted mean of |share correct - mean probability|)."""
    scored = [
        (c["score"], bool(c.get("correct")))
        for q in questions
        if "correct" in q
        for c in q.get("verdict", {}).get("candidates", [])
    ]
    bins: list[tuple[float, float, int]] = []
    error = 0.0
    for index in range(CALIBRATION_BINS):
        low, high = index / CALIBRATION_BINS, (index + 1) / CALIBRATION_BINS
        inside = [(p, y) for p, y in scored if low <= p < high or (high == 1.0 and p == 1.0)]
        if inside:
            mean = sum(p for p, _ in inside) / len(inside)
            share = sum(y for _, y in inside) / len(inside)
            bins.append((mean, share, len(inside)))
            error += len(inside) * abs(share - mean)
    return bins, (error / len(scored) if scored else 0.0)


# Page pieces


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:g}"
    return escape(str(value))


RETRIEVAL_KEYS = ("hit@1", "hit@3", "hit@5", "recall@5", "mrr@10")


def _figure_of(metrics: dict[str, Any], key: str) -> Any:
    """A figure of a summary; retrieval figures of a group without answerable questions
    (nothing to find) are left empty rather than shown as 0."""
    if key in RETRIEVAL_KEYS and not metrics.get("n"):
        return None
    return metrics.get(key)


def summary_tables(runs: list[Run]) -> str:
    """The overall figures, then (folded) the same per question type."""
    types = sorted({t for r in runs for t in r.summary.get("by_type", {})})
    return (
        summary_table(runs, [OVERALL])
        + "<details><summary>分题型</summary>"
        + summary_table(runs, types)
        + "</details>"
    )


def summary_table(runs: list[Run], groups: list[str]) -> str:
    """Figures of ``groups`` (OVERALL or question types); with two runs, a row per run and
    the difference."""
    columns = [(k, label) for k, label in SUMMARY_COLUMNS if any(k in r.summary for r in runs)]
    head = "".join(f"<th>{escape(label)}</th>" for _, label in columns)
    rows = []
    for group in groups:
        figures = [
            r.summary if group == OVERALL else r.summary.get("by_type", {}).get(group, {})
            for r in runs
        ]
        for run, metrics in zip(runs, figures, strict=True):
            name = escape(group) + (f" · {escape(run.name)}" if len(runs) > 1 else "")
            cells = "".join(f"<td>{_cell(_figure_of(metrics, k))}</td>" for k, _ in columns)
            rows.append(f"<tr><th>{name}</th>{cells}</tr>")
        if len(runs) == 2:
            diffs = []
            for key, _ in columns:
                a, b = _figure_of(figures[0], key), _figure_of(figures[1], key)
                ok = isinstance(a, int | float) and isinstance(b, int | float)
                diffs.append(f"<td class='diff'>{f'{b - a:+.3f}' if ok else '—'}</td>")
            rows.append(
                f"<tr class='diff-row'><th>{escape(group)} · 差（B−A）</th>{''.join(diffs)}</tr>"
            )
    return f"<table class='summary'><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def charts(runs: list[Run]) -> str:
    """Accuracy and hit@k by question type, the latency histogram, the refusal curve."""
    types = sorted({t for r in runs for t in r.summary.get("by_type", {})})
    label = (lambda r, metric: f"{r.name} {metric}") if len(runs) > 1 else (lambda r, m: m)
    figures = []
    if any(r.answered for r in runs):
        figures.append(grouped_bars(
            "各类问题的回答正确率", types,
            {label(r, "正确率"): [r.summary["by_type"].get(t, {}).get("answer_accuracy")
                                  for t in types] for r in runs if r.answered},
            "正确率",
        ))  # fmt: skip
    searched = [t for t in types if any(r.summary["by_type"].get(t, {}).get("n") for r in runs)]
    hits = {
        label(r, f"hit@{k}"): [_figure_of(r.summary["by_type"].get(t, {}), f"hit@{k}")
                               for t in searched]
        for r in runs
        for k in ((1, 5) if len(runs) == 1 else (5,))
    }  # fmt: skip
    figures.append(grouped_bars("各类问题的检索命中率（可答题）", searched, hits, "命中率"))
    if any(r.answered for r in runs):
        seconds = {r.name: [q.get("answer_seconds", 0.0) for q in r.questions if "correct" in q]
                   for r in runs if r.answered}  # fmt: skip
        figures.append(histogram("回答用时分布", seconds, "秒"))
        curves = {r.name: refusal_curve(r.questions) for r in runs if r.answered}
        if any(curves.values()):
            chosen = {
                r.name: (r.summary["refusal_precision"], r.summary["refusal_recall"])
                for r in runs
                if r.answered
            }
            figures.append(
                precision_recall("拒答精确率–召回率（圈出本次所用的判定阈值）", curves, chosen)
            )
        calibrated = {r.name: calibration(r.questions) for r in runs if r.answered}
        if any(bins for bins, _ in calibrated.values()):
            errors = "，".join(f"{name} ECE {ece:.3f}" for name, (_, ece) in calibrated.items())
            figures.append(
                reliability_diagram(
                    f"判定的校准（{errors}）",
                    {name: bins for name, (bins, _) in calibrated.items()},
                )
            )
    else:
        latency = {r.name: [q["latency_ms"] for q in r.questions] for r in runs}
        figures.append(histogram("检索用时分布", latency, "毫秒"))
    return "".join(f"<figure>{svg}</figure>" for svg in figures)


def _highlight(text: str, quotes: list[str]) -> str:
    """``text`` escaped, with every evidence quote found in it marked."""
    spans = []
    for quote in quotes:
        start = text.find(quote) if quote else -1
        if start >= 0:
            spans.append((start, start + len(quote)))
    html, position = [], 0
    for start, end in sorted(spans):
        if start < position:
            continue
        html += [escape(text[position:start]), "<mark>", escape(text[start:end]), "</mark>"]
        position = end
    html.append(escape(text[position:]))
    return "".join(html)


def _answer_block(record: dict[str, Any]) -> str:
    if "correct" not in record:
        return ""
    citations = "".join(
        f"<li>[{c['number']}] {escape(c['label'])}<br><q>{escape(c['quote'])}</q></li>"
        for c in record.get("citations", [])
    )
    notices = "".join(f"<div class='notice'>提示：{escape(n)}</div>" for n in record["notices"])
    return f"{notices}<div class='answer'>{escape(record['answer'])}</div>" + (
        f"<ol class='cites'>{citations}</ol>" if citations else ""
    )


def _details(record: dict[str, Any]) -> str:
    quotes = [e["quote"] for e in record.get("evidence", [])]
    passages = []
    for rank, hit in enumerate(record.get("retrieved", [])[:5], start=1):
        marked = _highlight(hit["text"], quotes)
        badge = " <span class='badge'>含证据</span>" if "<mark>" in marked else ""
        passages.append(
            f"<li><b>{rank}.</b> {escape(hit['file'])} · 《{escape(hit['title'])}》{badge}"
            f"<div class='passage'>{marked}</div></li>"
        )
    gold = record.get("gold_answer") or ("（应拒答）" if not record["answerable"] else "")
    must = "、".join(record.get("must_include", []))
    return (
        "<details><summary>参考答案与检索到的段落</summary>"
        f"<div>参考答案：{escape(gold)}</div>"
        + (f"<div>须包含：{escape(must)}</div>" if must else "")
        + f"<ol class='passages'>{''.join(passages)}</ol></details>"
    )


def _row_start(record: dict[str, Any]) -> str:
    """A question's row up to its answer cells: what the filters read, id, type, question."""
    return (
        f"<tr class='q' data-type='{escape(record['type'])}' "
        f"data-failed='{int(is_failure(record))}'>"
        f"<td>{escape(record['id'])}</td><td>{escape(record['type'])}</td>"
        f"<td>{escape(record.get('question') or record['standalone_question'])}"
        f"{_details(record)}</td>"
    )


def question_rows(run: Run) -> str:
    rows = []
    for record in run.questions:
        result = outcome(record)
        seconds = record.get("answer_seconds")
        rows.append(
            _row_start(record) + f"<td>{_answer_block(record)}</td>"
            f"<td class='{result}'>{OUTCOME_NAMES[result]}</td>"
            f"<td>{_cell(record.get('first_supporting_rank'))}</td>"
            f"<td>{_cell(seconds) if seconds is not None else '—'}</td></tr>"
        )
    return (
        "<table class='questions'><tr><th>编号</th><th>类型</th><th>问题</th><th>回答与引用</th>"
        "<th>结果</th><th>证据排名</th><th>用时 秒</th></tr>" + "".join(rows) + "</table>"
    )


def changed_rows(first: Run, second: Run) -> str:
    """The questions whose outcome differs between the runs, with both answers."""
    before = {q["id"]: q for q in first.questions}
    rows = []
    for record in second.questions:
        old = before.get(record["id"])
        if old is None or outcome(old) == outcome(record):
            continue
        rows.append(
            _row_start(record)
            + f"<td class='{outcome(old)}'>{OUTCOME_NAMES[outcome(old)]}{_answer_block(old)}</td>"
            f"<td class='{outcome(record)}'>{OUTCOME_NAMES[outcome(record)]}"
            f"{_answer_block(record)}</td></tr>"
        )
    if not rows:
        return "<p>两次运行中没有结果不同的问题。</p>"
    return (
        f"<table class='questions'><tr><th>编号</th><th>类型</th><th>问题</th>"
        f"<th>{escape(first.name)}</th><th>{escape(second.name)}</th></tr>"
        + "".join(rows) + "</table>"
    )  # fmt: skip


def _config_line(run: Run) -> str:
    config = run.summary.get("config", {})
    shown = "；".join(f"{escape(str(k))}: {escape(str(v))}" for k, v in config.items())
    return f"<p class='config'>{escape(run.name)}：{shown}</p>" if shown else ""


def _filters(types: list[str]) -> str:
    options = "".join(f"<option>{escape(t)}</option>" for t in types)
    return (
        "<div class='filters'><label><input type='checkbox' id='failed-only'> 只看答错的</label>"
        f" <select id='type-filter'><option value=''>全部类型</option>{options}</select>"
        " <input id='text-filter' placeholder='按文字筛选'> <span id='shown'></span></div>"
    )


PAGE_STYLE = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", "PingFang SC", sans-serif;
  margin: 24px; color: #111827; line-height: 1.5; }
table { border-collapse: collapse; margin: 8px 0 20px; font-size: 13px; }
th, td { border: 1px solid #e5e7eb; padding: 4px 6px; vertical-align: top; text-align: left; }
table.summary td { text-align: right; font-variant-numeric: tabular-nums; }
tr.diff-row td, td.diff { color: #6b7280; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px; }
figure svg { width: 520px; max-width: 100%; height: auto; }
table.questions td:nth-child(3) { max-width: 380px; }
table.questions td:nth-child(4) { max-width: 460px; }
.right, .refused_right, .retrieval_hit { color: #047857; font-weight: 600; }
.wrong, .refused_wrong, .answered_wrong, .retrieval_miss { color: #b91c1c; font-weight: 600; }
.answer { white-space: pre-wrap; font-weight: normal; color: #111827; }
.notice { color: #92400e; font-size: 12px; font-weight: normal; }
.cites { list-style: none; }
.cites, .passages { margin: 4px 0 0 1.2em; padding: 0; font-size: 12px; color: #374151;
  font-weight: normal; }
.passage { color: #4b5563; }
mark { background: #fde68a; }
.badge { background: #d1fae5; color: #065f46; border-radius: 3px; padding: 0 4px; font-size: 11px; }
.filters { margin: 8px 0; }
.config { color: #4b5563; font-size: 12px; }
details summary { cursor: pointer; color: #1d4ed8; font-size: 12px; }
"""

PAGE_SCRIPT = """
function applyFilters() {
  const failed = document.getElementById('failed-only').checked;
  const type = document.getElementById('type-filter').value;
  const words = document.getElementById('text-filter').value.trim();
  let shown = 0;
  document.querySelectorAll('tr.q').forEach((row) => {
    const visible = (!failed || row.dataset.failed === '1') && (!type || row.dataset.type === type)
      && (!words || row.textContent.includes(words));
    row.style.display = visible ? '' : 'none';
    shown += visible ? 1 : 0;
  });
  document.getElementById('shown').textContent = '显示 ' + shown + ' 题';
}
['failed-only', 'type-filter', 'text-filter'].forEach((id) => {
  document.getElementById(id).addEventListener('input', applyFilters);
});
applyFilters();
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{PAGE_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>{body}<script>{PAGE_SCRIPT}</script></body></html>"
    )


def run_page(run: Run) -> str:
    types = sorted({q["type"] for q in run.questions})
    body = (
        _config_line(run)
        + "<h2>汇总</h2>" + summary_tables([run])
        + f"<h2>图表</h2><div class='charts'>{charts([run])}</div>"
        + f"<h2>逐题（{len(run.questions)} 题）</h2>" + _filters(types) + question_rows(run)
    )  # fmt: skip
    return _page(f"评测报告：{run.name}", body)


def comparison_page(first: Run, second: Run) -> str:
    types = sorted({q["type"] for q in first.questions + second.questions})
    body = (
        _config_line(first) + _config_line(second)
        + "<h2>汇总</h2>" + summary_tables([first, second])
        + f"<h2>图表</h2><div class='charts'>{charts([first, second])}</div>"
        + "<h2>结果变化的问题</h2>" + _filters(types) + changed_rows(first, second)
    )  # fmt: skip
    return _page(f"评测对比：{first.name} ↔ {second.name}", body)


def write_run_report(folder: Path) -> Path:
    """``folder/report.html`` for the eval run written in ``folder``."""
    path = folder / REPORT_NAME
    write_text_atomic(path, run_page(Run.read(folder)))
    return path


def write_comparison_report(first: Path, second: Path, out: Path) -> Path:
    """``out/report.html`` comparing two eval runs."""
    runs = [Run.read(first), Run.read(second)]
    for letter, run in zip("AB", runs, strict=True):
        run.name = f"{letter}：{run.name}"  # two folders may share a name
    page = comparison_page(*runs)
    write_text_atomic(out / REPORT_NAME, page)
    return out / REPORT_NAME
