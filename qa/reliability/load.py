"""Many people asking at once: simulated users call the web app's /ask API (gradio_client
over HTTP, on 127.0.0.1) with dev-set questions for a while, twice; every answer must come
back complete (a refusal, or text whose every [n] is a citation and every citation is
used), none may fail, and the app's memory must not grow from the first round to the
second."""

from __future__ import annotations

import json
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.prompts import refusal_phrase
from qa.reliability.report import Row
from qa.reliability.scratch import Scratch, start_app, stop_app
from qa.settings import PROJECT_ROOT

QUESTIONS = PROJECT_ROOT / "eval" / "seed_dev.jsonl"
MARKER = re.compile(r"\[(\d+)\]")
SAMPLE_EVERY_S = 0.5
RANK_POLL_S = 0.2


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    queue_waits: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    answered: int = 0
    refused: int = 0
    seconds: float = 0.0
    ranks_seen: int = 0  # the furthest place in the web queue a caller was told


def questions() -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    return [row["question"] for row in rows if not row.get("history")]


def complete(answer: dict[str, Any]) -> bool:
    """A refusal, or a cited answer whose markers and citations match one to one."""
    if answer.get("refused"):
        return refusal_phrase() in answer["text"] and not answer["citations"]
    marked = {int(n) for n in MARKER.findall(answer["text"])}
    cited = {c["number"] for c in answer["citations"]}
    return bool(cited) and marked == cited and all(c["quote"] for c in answer["citations"])


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the local model's worker)."""
    total = 0
    for each in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return round(total / 1024, 1)


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    kids = [int(k) for k in found]
    return kids + [grandchild for kid in kids for grandchild in _children(kid)]


def drive(port: int, users: int, seconds: float, asks_each: int | None) -> Round:
    """``users`` threads, each with its own client, asking questions in turn: ``asks_each``
    questions each, or (None) until ``seconds`` have passed; in-flight questions are waited
    for, never dropped."""
    from gradio_client import Client

    pool = questions()
    result = Round()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def user(number: int) -> None:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        asked = 0
        while asked < asks_each if asks_each is not None else time.monotonic() < stop_at:
            question = pool[(number * 7 + asked) % len(pool)]
            asked += 1
            started = time.monotonic()
            try:
                job = client.submit(question, [], api_name="/ask")
                while not job.done():  # the place in the web queue the caller is shown
                    rank = job.status().rank
                    with lock:
                        result.ranks_seen = max(result.ranks_seen, (rank or 0) + 1)
                    time.sleep(RANK_POLL_S)
                answer = job.result()
            except Exception as exc:  # every failure is a row of the report
                with lock:
                    result.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            with lock:
                result.latencies.append(time.monotonic() - started)
                result.queue_waits.append(float(answer.get("timings", {}).get("queue_s", 0.0)))
                result.refused += bool(answer.get("refused"))
                result.answered += not answer.get("refused")
                if not complete(answer):
                    result.incomplete.append(question)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result


def load_rows(
    scratch: Scratch,
    base: Path,
    backend: str,
    users: int,
    seconds: float,
    asks_each: int | None,
    rounds: int = 2,
) -> list[Row]:
    """``rounds`` rounds of `drive` against one app; with two, the second must not grow
    the app's memory."""
    index_dir = scratch.copy_index(base, f"load-{backend}")
    app, port = start_app(index_dir, backend, scratch.root / f"app-{backend}.log")
    peak = [0.0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(SAMPLE_EVERY_S):
            peak[0] = max(peak[0], rss_mb(app.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        warm_up_app(port)
        start_mb = rss_mb(app.pid)
        sampler.start()
        done, after = [], []
        for _ in range(rounds):
            done.append(drive(port, users, seconds, asks_each))
            after.append(rss_mb(app.pid))
    finally:
        sampling.set()
        stop_app(app)
    rows = []
    for number, rnd in enumerate(done, start=1):
        total = len(rnd.latencies)
        figures = {
            "users": users,
            "answers": total,
            "errors": len(rnd.errors),
            "incomplete": len(rnd.incomplete),
            "refused": rnd.refused,
            "answer_p50_s": _quantile(rnd.latencies, 0.5),
            "answer_p95_s": _quantile(rnd.latencies, 0.95),
            "queue_wait_p50_s": _quantile(rnd.queue_waits, 0.5),
            "queue_wait_p95_s": _quantile(rnd.queue_waits, 0.95),
            "throughput_per_min": round(total / rnd.seconds * 60, 1) if rnd.seconds else 0.0,
            "furthest_queue_place": rnd.ranks_seen,
            "seconds": round(rnd.seconds, 1),
        }
        outcome = (
            f"{total} 个回答（{rnd.refused} 个拒答），错误 {len(rnd.errors)}，不完整 {len(rnd.incomplete)}；"
            f"回答 p50/p95 {figures['answer_p50_s']}/{figures['answer_p95_s']} 秒，"
            f"排队 p50/p95 {figures['queue_wait_p50_s']}/{figures['queue_wait_p95_s']} 秒，"
            f"每分钟 {figures['throughput_per_min']} 个"
        )
        if rnd.ranks_seen > 1:
            outcome += f"；网页队列告知的最远位次 {rnd.ranks_seen}"
        if rnd.errors:
            outcome += f"；首个错误：{rnd.errors[0]}"
        ok = total > 0 and not rnd.errors and not rnd.incomplete
        rows.append(
            Row("负载", f"{backend}：{users} 人同时提问，第 {number} 轮", outcome, ok, figures)
        )
    # The first round may fill caches; the second must not keep growing: at most 5 % of
    # the memory after the first round, or 50 MB.
    growth = round(after[-1] - after[0], 1)
    allowed = max(50.0, 0.05 * after[0])
    rows.append(
        Row(
            "负载",
            f"{backend}：内存（含模型进程）",
            f"开始 {start_mb} MB，峰值 {peak[0]} MB，各轮后 "
            + " / ".join(f"{mb} MB" for mb in after)
            + (f"（第二轮增长 {growth} MB）" if len(after) > 1 else "（只跑一轮，不比较增长）"),
            growth <= allowed,
            {
                "rss_start_mb": start_mb,
                "rss_peak_mb": peak[0],
                "rss_after_round_mb": after,
            },
        )
    )
    return rows


def warm_up_app(port: int) -> None:
    """One question before measuring: the first one loads what the app loads lazily."""
    from gradio_client import Client

    Client(f"http://127.0.0.1:{port}/", verbose=False).predict("预热", [], api_name="/ask")


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1], 2)
