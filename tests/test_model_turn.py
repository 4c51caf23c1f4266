"""Model-loading evaluations and benchmarks take turns on a machine (qa/model_turn.py): a
second one waits for the first, naming it, then runs; --side-by-side does not wait; a run
killed with kill -9 leaves no turn behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.model_turn import model_turn
from tests.conftest import ROOT, SEEDS, hold_lock


def _holder(lock: Path, seconds: float) -> subprocess.Popen[str]:
    """A process that holds the model turn for ``seconds``."""
    return hold_lock(
        "qa.model_turn:model_turn", lock, seconds, "archive-qa eval 第一个评测.jsonl --llm local"
    )


def test_a_second_model_eval_waits_for_the_first_then_runs(tmp_path: Path) -> None:
    lock = tmp_path / "model.lock"
    questions = tmp_path / "one.jsonl"
    question = {"id": "t1", "type": "date", "question": "上城区招商引资工作推进会是哪天召开的?"}
    questions.write_text(json.dumps(question | {"answer": "4月15日", "must_include": ["4月15日"],
                                                "evidence": [], "history": []},
                                    ensure_ascii=False) + "\n", encoding="utf-8")  # fmt: skip
    env = os.environ | {
        "ARCHIVE_QA_INDEX_DIR": str(tmp_path / "index"),
        "ARCHIVE_QA_MODEL_TURN_LOCK": str(lock),
        # No model file: the eval still asks for the local model (and so takes its turn),
        # then answers extractively and says why; the test costs no model time.
        "ARCHIVE_QA_LLM_MODEL_PATH": str(tmp_path / "no-model.gguf"),
    }
    cli = [sys.executable, "-m", "qa.cli"]
    subprocess.run([*cli, "ingest", str(SEEDS / "003_e8fc69560c1c029f.txt")], env=env, cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    first = _holder(lock, 6.0)
    started = time.monotonic()
    second = subprocess.run(
        [*cli, "eval", str(questions), "--llm", "local"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert f"PID {first.pid} 的 archive-qa eval 第一个评测.jsonl --llm local" in second.stderr
    assert "现在开始" in second.stderr
    assert first.wait(timeout=10) == 0
    assert time.monotonic() - started >= 4.0  # it waited for the first run to end
    assert "answer_accuracy" in second.stdout, second.stdout  # it ran: the answer table


def test_side_by_side_does_not_wait(tmp_path: Path) -> None:
    lock = tmp_path / "model.lock"
    first = _holder(lock, 30.0)
    told: list[str] = []
    try:
        started = time.monotonic()
        with model_turn(lock, "archive-qa bench llm", side_by_side=True, tell=told.append):
            assert time.monotonic() - started < 1.0
        assert not told
    finally:
        first.kill()
        first.wait()


def test_a_killed_run_leaves_no_turn_behind(tmp_path: Path) -> None:
    lock = tmp_path / "model.lock"
    first = _holder(lock, 60.0)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    told: list[str] = []
    started = time.monotonic()
    with model_turn(lock, "archive-qa eval", tell=told.append):
        assert time.monotonic() - started < 1.0
    assert not told


def test_the_turn_is_given_back_when_a_run_fails(tmp_path: Path) -> None:
    lock = tmp_path / "model.lock"
    with pytest.raises(RuntimeError), model_turn(lock, "archive-qa eval", tell=print):
        raise RuntimeError("the run failed")
    assert lock.read_text(encoding="utf-8") == ""  # an empty note: nobody holds it
    with model_turn(lock, "archive-qa eval", tell=print):
        assert json.loads(lock.read_text(encoding="utf-8"))["pid"] == os.getpid()
