"""Web app figures in Debian chromium: page load time, and (with the configured backend)
time from send to the source cards the model reads, to its first streamed token and to the
checked answer, over a few questions.

    .venv/bin/python scripts/bench_app.py [--runs 5] [--questions FILE.jsonl] [--limit 10]

Uses the configured index (indexes seeds/ first if empty) and backend (ARCHIVE_QA_LLM).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright

from app import BackgroundServer
from qa.evaluate import percentile
from qa.service import open_service
from qa.settings import get_settings

# Times taken in the page from the click on 发送 (see the script's comment).
TIMING_SCRIPT = (Path(__file__).parent / "page_timing.js").read_text(encoding="utf-8")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="page loads to time")
    parser.add_argument("--questions", type=Path, help="JSONL test set for time to first token")
    parser.add_argument("--limit", type=int, default=10)
    args = parser.parse_args()

    settings = get_settings()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = settings.model_copy(update={"app_port": port})
    service = open_service(settings)
    service.warmed.wait()  # timings as a user sees them once the app has started
    server = BackgroundServer(settings, service)
    url = server.url
    loads: list[float] = []
    sources: list[float] = []
    first_tokens: list[float] = []
    answers: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        for _ in range(args.runs):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("#aq-question textarea")
            loads.append(time.perf_counter() - start)
            page.close()
        if args.questions:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.add_init_script(TIMING_SCRIPT)
            page.goto(url)
            lines = args.questions.read_text(encoding="utf-8").splitlines()[: args.limit]
            for line in lines:
                page.click("#aq-new")
                page.fill("#aq-question textarea", json.loads(line)["question"])
                page.click("#aq-send")
                page.wait_for_function("window.aqTimes.answer !== undefined", timeout=180_000)
                times = page.evaluate("window.aqTimes")
                if "cards" in times:  # none when the answer needs no model (a refusal)
                    sources.append(times["cards"] / 1000)
                first_tokens.append(times["token"] / 1000)
                answers.append(times["answer"] / 1000)
        browser.close()
    server.close()
    print(
        f"页面加载 page load p50 {statistics.median(loads):.2f} s, max {max(loads):.2f} s ({len(loads)} 次)"
    )
    backend = service.answerer.backend
    for label, values in (
        ("点击发送到出处卡片 send → source cards", sources),
        ("点击发送到第一个字 send → first token", first_tokens),
        ("点击发送到完整回答 send → checked answer", answers),
    ):
        if values:
            print(
                f"{label} p50 {statistics.median(values):.2f} s, "
                f"p95 {percentile(values, 95):.2f} s, max {max(values):.2f} s "
                f"({len(values)} 题，后端 {backend})"
            )
            print("    " + " ".join(f"{v:.2f}" for v in values))


if __name__ == "__main__":
    main()
