"""kill -9 at random moments while `archive-qa ingest` and `archive-qa remove` write into an
existing index: afterwards the index must load, be exactly the old or the new state, answer
the probe questions as that state does, and let the next write run to the new state."""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from pathlib import Path

from index.ingest import ingest, remove
from index.writer_lock import LOCK_FILE, read_note
from qa.reliability.report import Row
from qa.reliability.scratch import Scratch, State, cli, run_cli, safe_state, start_app, stop_app

LEFTOVER_PATTERNS = (".staging-*", ".manifest.json.*")


def crash_rows(scratch: Scratch, base: Path, kills: int, seed: int = 13) -> list[Row]:
    rng = random.Random(seed)
    names = [p.name for p in scratch.extra]
    rows = []
    old = scratch.state(base)
    # One uninterrupted run of each write gives the new state and how long a write takes.
    reference = scratch.copy_index(base, "crash-reference")
    started = time.monotonic()
    code, printed = run_cli(["ingest", *map(str, scratch.extra)], reference)
    ingest_seconds = time.monotonic() - started
    if code != 0:
        return [Row("kill -9", "参照导入", f"导入失败：{printed[-300:]}", False)]
    added = scratch.state(reference)
    removed_names = names[: max(1, len(names) // 4)]
    after_remove = scratch.copy_index(reference, "crash-after-remove")
    started = time.monotonic()
    run_cli(["remove", *removed_names], after_remove)
    remove_seconds = time.monotonic() - started
    trimmed = scratch.state(after_remove)

    for run in range(kills):
        writing_ingest = run % 4 != 1  # three of four kills hit an ingest, one a remove
        if writing_ingest:
            index_dir = scratch.copy_index(base, f"crash-{run}")
            args, before, after, span = (
                ["ingest", *map(str, scratch.extra)],
                old,
                added,
                ingest_seconds,
            )
        else:
            index_dir = scratch.copy_index(reference, f"crash-{run}")
            args, before, after, span = ["remove", *removed_names], added, trimmed, remove_seconds
        delay = rng.uniform(0.2, span)
        process = cli(args, index_dir)
        time.sleep(delay)
        process.kill()
        process.communicate()  # reap it and close its pipes
        case = f"{args[0]} 第 {run + 1} 次，{delay:.1f} 秒时 kill -9"
        rows.append(_judge(scratch, index_dir, case, delay, before, after))
        shutil.rmtree(index_dir, ignore_errors=True)
    return rows


def upload_crash_rows(scratch: Scratch, base: Path, kills: int, seed: int = 29) -> list[Row]:
    """kill -9 of the web app while it ingests an upload (the extra files, through the
    app's /ingest API)."""
    from gradio_client import Client, handle_file

    rng = random.Random(seed)
    old = scratch.state(base)
    files = [handle_file(str(path)) for path in scratch.extra]
    reference = scratch.copy_index(base, "upload-reference")
    app, port = start_app(
        reference, "none", scratch.root / "upload-reference.log", scratch.root / "up-ref"
    )
    try:
        started = time.monotonic()
        Client(f"http://127.0.0.1:{port}/", verbose=False).predict(files, api_name="/ingest")
        span = time.monotonic() - started
    finally:
        stop_app(app)
    new = scratch.state(reference)
    rows = []
    for run in range(kills):
        index_dir = scratch.copy_index(base, f"upload-crash-{run}")
        log = scratch.root / f"upload-crash-{run}.log"
        app, port = start_app(index_dir, "none", log, scratch.root / f"up-{run}")
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        delay = rng.uniform(0.1, span)
        client.submit(files, api_name="/ingest")
        time.sleep(delay)
        os.kill(app.pid, signal.SIGKILL)
        app.wait()
        case = f"网页上传第 {run + 1} 次，{delay:.1f} 秒时 kill -9 应用"
        rows.append(_judge(scratch, index_dir, case, delay, old, new))
        shutil.rmtree(index_dir, ignore_errors=True)
    return rows


def _judge(
    scratch: Scratch, index_dir: Path, case: str, delay: float, before: State, after: State
) -> Row:
    """Old or new state after the kill; and the same write, run again, reaches the new
    state and leaves nothing behind."""
    holding = read_note(index_dir / LOCK_FILE) is not None  # killed while it held the lock
    state = safe_state(scratch, index_dir)
    if isinstance(state, str):
        outcome, ok = f"索引无法加载：{state}", False
    elif state == before:
        outcome, ok = "旧状态（" + state.describe() + "）", True
    elif state == after:
        outcome, ok = "新状态（" + state.describe() + "）", True
    else:
        outcome, ok = f"既非旧也非新：{state.describe()}", False
    # The next write must not trip over what the killed one left.
    settings = scratch.settings_for(index_dir)
    if len(after.sources) > len(before.sources):
        ingest(scratch.extra, settings.index_options(), scratch.embeddings, progress=False)
    else:
        remove(
            settings.store_options(), [name for name in before.sources if name not in after.sources]
        )
    leftovers = [p.name for pattern in LEFTOVER_PATTERNS for p in index_dir.glob(pattern)]
    resumed = safe_state(scratch, index_dir)
    if resumed != after or leftovers or len(list(index_dir.glob("gen-*"))) != 1:
        ok = False
        outcome += f"；再次写入后不是新状态或有残留：{leftovers}"
    else:
        outcome += "；再次写入后为新状态，无残留"
    case += "（写入中）" if holding else ""
    return Row("kill -9", case, outcome, ok, {"delay_s": round(delay, 2), "holding_lock": holding})
