"""Web app figures: page load time in Debian chromium, and (with the configured backend)
time from send to the first streamed token, over a few questions.

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

from app import launch
from qa.service import open_service
from qa.settings import get_settings

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
    demo = launch(settings, service, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}"
    loads, first_tokens = [], []
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
            page.goto(url)
            lines = args.questions.read_text(encoding="utf-8").splitlines()[: args.limit]
            for line in lines:
                question = json.loads(line)["question"]
                page.click("#aq-new")
                page.fill("#aq-question textarea", question)
                start = time.perf_counter()
                page.click("#aq-send")
                page.wait_for_function(
                    "[...document.querySelectorAll('.aq-answer')].some("
                    "e => e.classList.contains('aq-pending') ? e.innerText.length > 1 : true)",
                    timeout=120_000,
                )
                first_tokens.append(time.perf_counter() - start)
                page.locator(".aq-answer:not(.aq-pending)").last.wait_for(timeout=120_000)
        browser.close()
    demo.close()
    print(
        f"页面加载 page load p50 {statistics.median(loads):.2f} s, max {max(loads):.2f} s ({len(loads)} 次)"
    )
    if first_tokens:
        print(
            f"点击发送到第一个字 send → first token p50 {statistics.median(first_tokens):.2f} s "
            f"({len(first_tokens)} 题，后端 {service.answerer.backend})"
        )


if __name__ == "__main__":
    main()
