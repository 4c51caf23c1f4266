"""The supervised model process, with worker processes that crash, hang or fail to load on
purpose (tests/"py"): whoever is asking gets a clear notice and an extractive
answer, the worker is restarted, and the next answer comes from the model again."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from index.ingest import ingest
from index.store import load_index
from qa.answer import Answerer
from qa.llm import LlamaCppChat
from qa.llm_process import MAX_FAILURES_IN_A_ROW, ModelProcess, ModelProcessError, Timeouts
from qa.llm_worker import WorkerConfig, prompt_token_counts
from qa.retrieve import build_retriever
from qa.settings import Settings
from qa.turns import TurnQueue
from tests.conftest import SEEDS

FAST = Timeouts(start_s=30.0, first_token_s=2.0, token_s=1.0)
MESSAGES = [{"role": "system", "content": "系统"}, {"role": "user", "content": "往来酒店"}]
QUESTION = "瓜山未来社区民宿组团一期建成开放的是哪家酒店？"


def _process(tmp_path: Path, worker: str) -> ModelProcess:
    config = WorkerConfig(model_path=str(tmp_path), threads=1)
    return ModelProcess(config, FAST, target=f"tests.fake_worker:{worker}")


def _lines(tmp_path: Path, name: str) -> list[str]:
    path = tmp_path / name
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def _wait_for(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def closing():
    processes: list[ModelProcess] = []
    yield processes.append
    for process in processes:
        process.close()


def test_tokens_stream_from_the_worker(tmp_path: Path, closing) -> None:
    process = _process(tmp_path, "echo_worker")
    closing(process)
    assert "".join(process.chat("answer", MESSAGES, max_tokens=50)) == "回答：往来酒店"
    assert process.system_info == "FAKE = 1" and process.pid is not None


def test_a_worker_that_dies_mid_answer_is_restarted_with_its_warm_up(
    tmp_path: Path, closing
) -> None:
    process = _process(tmp_path, "crash_once_worker")
    closing(process)
    process.warm_up("answer", MESSAGES)
    tokens = []
    with pytest.raises(ModelProcessError, match=r"意外退出（段错误，SIGSEGV）.*正在重启"):
        tokens.extend(process.chat("answer", MESSAGES, max_tokens=50))
    assert 0 < len(tokens) < 5
    # the restart happens in the background and reads the warm-up prompt again
    _wait_for(lambda: len(_lines(tmp_path, "starts.txt")) == 2 and process.pid is not None)
    assert "".join(process.chat("answer", MESSAGES, max_tokens=50)) == "回答：往来酒店"
    assert _lines(tmp_path, "requests.txt").count("1") == 2  # warm-up before and after
    assert process.failures_in_a_row == 0


def test_a_worker_that_stops_writing_is_killed_and_restarted(tmp_path: Path, closing) -> None:
    process = _process(tmp_path, "hang_once_worker")
    closing(process)
    first_pid = None
    started = time.monotonic()
    with pytest.raises(ModelProcessError, match="1 秒内没有输出"):
        for _ in process.chat("answer", MESSAGES, max_tokens=50):
            first_pid = first_pid or process.pid
    assert time.monotonic() - started < 10
    assert "".join(process.chat("answer", MESSAGES, max_tokens=50)) == "回答：往来酒店"
    assert process.pid != first_pid


def test_repeated_crashes_give_the_local_model_up_with_the_reason(tmp_path: Path, closing) -> None:
    process = _process(tmp_path, "always_crash_worker")
    closing(process)
    for _ in range(MAX_FAILURES_IN_A_ROW - 1):
        with pytest.raises(ModelProcessError, match="正在重启"):
            list(process.chat("answer", MESSAGES, max_tokens=50))
    with pytest.raises(ModelProcessError, match="连续 3 次失败，已停用") as failure:
        list(process.chat("answer", MESSAGES, max_tokens=50))
    assert "段错误" in failure.value.message and "model_setup" in failure.value.message
    with pytest.raises(ModelProcessError, match="已停用"):  # no more restarts
        list(process.chat("answer", MESSAGES, max_tokens=50))
    assert len(_lines(tmp_path, "starts.txt")) == MAX_FAILURES_IN_A_ROW


def test_a_model_that_cannot_load_is_reported(tmp_path: Path, closing) -> None:
    process = _process(tmp_path, "failing_load_worker")
    closing(process)
    with pytest.raises(ModelProcessError, match=r"无法加载.*Failed to load model"):
        process.start()


def test_a_reader_that_stops_early_leaves_the_worker_clean(tmp_path: Path, closing) -> None:
    process = _process(tmp_path, "echo_worker")
    closing(process)
    stream = process.chat("answer", MESSAGES, max_tokens=50)
    assert next(stream) == "回"
    stream.close()  # e.g. a decoding loop was cut
    other = [{"role": "user", "content": "第二个问题"}]
    assert "".join(process.chat("answer", other, max_tokens=50)) == "回答：第二个问题"


def test_turns_are_taken_in_order_and_show_how_many_are_ahead() -> None:
    queue = TurnQueue()
    places = [queue.turn() for _ in range(3)]
    first, second, third = (place.__enter__() for place in places)
    assert [turn.ahead() for turn in (first, second, third)] == [0, 1, 2]
    assert third.wait(0.05) == 2  # nothing moved
    places[1].__exit__(None, None, None)  # the second one gave up waiting
    assert third.ahead() == 1
    threading.Timer(0.1, places[0].__exit__, (None, None, None)).start()
    assert third.wait(5) == 0  # woken when the first one is done
    places[2].__exit__(None, None, None)
    assert len(queue) == 0


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory):
    fake = DeterministicFakeEmbedding(size=16)
    settings = Settings(index_dir=tmp_path_factory.mktemp("idx"))
    ingest([SEEDS], settings.index_options(), fake, progress=False)
    return build_retriever(load_index(settings.index_dir), fake, settings), settings


@pytest.fixture
def answerer_over(tmp_path: Path, indexed, closing):
    """An answerer whose local model is the named fake worker."""

    def make(worker: str) -> Answerer:
        process = _process(tmp_path, worker)
        closing(process)
        retriever, settings = indexed
        model = LlamaCppChat(process=process, context="answer", max_tokens=60)
        return Answerer(retriever, settings, model, "local")

    return make


def test_a_crash_mid_answer_gives_a_notice_and_an_extractive_answer(answerer_over) -> None:
    answerer = answerer_over("crash_once_worker")
    process = answerer.model.process
    events = list(answerer.stream(QUESTION))
    answer = events[-1].answer
    assert any(event.kind == "token" for event in events)  # it had started writing
    assert any("意外退出" in n and "摘录式" in n for n in answer.notices), answer.notices
    assert "往来酒店" in answer.text and answer.citations
    _wait_for(lambda: process.pid is not None)
    again = answerer.ask(QUESTION)  # the restarted model answers, without a notice
    assert not any("意外退出" in n for n in again.notices)
    assert answerer.model.restarts == 1
    assert any(e.kind == "token" for e in answerer.stream(QUESTION))


def test_a_given_up_model_answers_extractively_and_says_why(tmp_path: Path, answerer_over) -> None:
    answerer = answerer_over("always_crash_worker")
    for _ in range(MAX_FAILURES_IN_A_ROW):
        answerer.ask(QUESTION)
    assert "已停用" in (answerer.model_problem() or "")
    answer = answerer.ask(QUESTION)
    assert "往来酒店" in answer.text and any("已停用" in n for n in answer.notices)
    assert len(_lines(tmp_path, "starts.txt")) == MAX_FAILURES_IN_A_ROW


def test_a_waiting_question_is_told_its_place_in_the_queue(answerer_over) -> None:
    answerer = answerer_over("echo_worker")
    with answerer.model.queue.turn():  # someone else's question holds the model
        waiting = answerer.stream(QUESTION)
        sources, place = next(waiting), next(waiting)  # what it will read, then its place
        assert sources.kind == "sources" and sources.passages
        assert (place.kind, place.text) == ("queued", "排队中（前面还有 1 个问题）")
        holder = threading.Thread(target=lambda: list(waiting))
    holder.start()
    holder.join(30)
    assert not holder.is_alive()


def test_prompt_tokens_read_are_those_after_the_cached_prefix() -> None:
    system, question, written = [1, 2, 3, 4], [7, 8], [9, 9, 9]
    before = [*system, 5, 6, 9]  # the previous question and its answer
    after = [*system, *question, *written]
    assert prompt_token_counts(before, after, len(written)) == {
        "prompt_tokens": 6,
        "read_tokens": 2,
    }
    assert prompt_token_counts([], after, 3)["read_tokens"] == 6


def test_closing_while_a_request_runs_kills_the_worker(tmp_path: Path) -> None:
    process = _process(tmp_path, "hang_once_worker")
    stream = process.chat("answer", MESSAGES, max_tokens=50)
    next(stream)  # the worker is busy with this request and the pipe is taken
    started = time.monotonic()
    process.close()
    assert time.monotonic() - started < 10
    _wait_for(lambda: process.pid is None, 10)
    stream.close()
