"""How llama.cpp is loaded on each kind of CPU, and the set-up's self-check: a model that
crashes, hangs or cannot load is reported in Chinese with the fix, and the app and CLI then
answer extractively, saying why. Nothing here depends on the CPU the tests run on."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from index.errors import ArchiveQAError
from index.ingest import ingest
from index.store import load_index
from qa.llm import make_chat_model
from qa.llm_runtime import (
    LlamaOptions,
    candidate_options,
    cpu_signature,
    describe_exit,
    load_options,
    read_record,
    record_key,
    record_path,
    write_record,
)
from qa.model_setup import check_llm_runtime, run_self_check
from qa.service import ArchiveService
from qa.settings import Settings
from tests.conftest import SEEDS
from tests.fake_models import NamedFakeEmbedding

AMX_XEON = frozenset(
    ["avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "amx_tile", "amx_int8", "amx_bf16"]
)
AVX2_EPYC = frozenset(["avx", "avx2", "fma", "f16c"])
HANG = [sys.executable, "-c", "import time; time.sleep(60)"]
SEGFAULT = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]


def test_amx_cpus_load_without_extra_buffer_types() -> None:
    options, why = candidate_options(AMX_XEON)
    assert options == [LlamaOptions(use_extra_bufts=False)]
    assert "AMX" in why and "段错误" in why


def test_other_cpus_measure_both_ways_default_first() -> None:
    options, why = candidate_options(AVX2_EPYC)
    assert [o.use_extra_bufts for o in options] == [True, False]
    assert "测速" in why


def test_a_record_is_only_reused_on_the_same_kind_of_cpu() -> None:
    assert cpu_signature(AMX_XEON) != cpu_signature(AVX2_EPYC)
    assert cpu_signature(AVX2_EPYC | {"sse4_2"}) == cpu_signature(AVX2_EPYC)  # irrelevant flag


def test_exit_codes_in_words() -> None:
    assert describe_exit(-signal.SIGSEGV) == "段错误，SIGSEGV"
    assert describe_exit(-signal.SIGKILL) == "被强制结束，SIGKILL"
    assert describe_exit(3) == "退出码 3"


def _fake_model(tmp_path: Path) -> Path:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF" + b"\x00" * 64)
    return model


@pytest.mark.parametrize(
    ("command", "expected"),
    [(HANG, "自检超时"), (SEGFAULT, "模型进程崩溃（段错误，SIGSEGV）")],
)
def test_self_check_reports_a_hang_or_a_crash(tmp_path: Path, command, expected: str) -> None:
    result = run_self_check(_fake_model(tmp_path), LlamaOptions(), 1, 2.0, command)
    assert not result["ok"] and expected in result["error"] and result["fix"]


def test_self_check_of_a_truncated_gguf(tmp_path: Path) -> None:
    """The real worker on a truncated copy of the real model: it cannot load."""
    pytest.importorskip("llama_cpp")
    real = Settings().llm_model_path
    if not real.is_file():
        pytest.skip(f"本地语言模型未安装（{real}）：运行 make setup")
    truncated = tmp_path / "truncated.gguf"
    with real.open("rb") as source:
        truncated.write_bytes(source.read(8 << 20))  # the header and the start of the weights
    result = run_self_check(truncated, LlamaOptions(), 1, 120.0)
    assert not result["ok"] and "无法加载" in result["error"], result
    assert "make setup" in result["fix"]


@pytest.mark.parametrize(("forced", "expected"), [("auto", False), ("on", True), ("off", False)])
def test_a_forced_load_option_overrides_the_set_ups_choice(
    tmp_path: Path, forced: str, expected: bool
) -> None:
    model = _fake_model(tmp_path)
    chosen = LlamaOptions(use_extra_bufts=False, n_batch=256)
    write_record(model, {"key": record_key(model), "status": "ok", "chosen": chosen.to_dict()})
    options = load_options(Settings(llm_model_path=model, llm_extra_bufts=forced))
    assert options == LlamaOptions(use_extra_bufts=expected, n_batch=256)  # the rest kept


@pytest.fixture
def failed_setup(tmp_path: Path) -> Settings:
    """Settings whose model failed the set-up's self-check (a hanging model process)."""
    settings = Settings(
        llm_model_path=_fake_model(tmp_path),
        llm_self_check_timeout_s=1.0,
        index_dir=tmp_path / "index",
        llm="local",
    )
    record = check_llm_runtime(settings.llm_model_path, settings, command=HANG)
    assert record["status"] == "failed" and record_path(settings.llm_model_path).exists()
    return settings


def test_a_failed_self_check_is_recorded_and_reused(failed_setup: Settings) -> None:
    record = read_record(failed_setup.llm_model_path)
    assert record is not None and "自检超时" in record["error"]
    with pytest.raises(ArchiveQAError, match=r"安装自检发现本地语言模型无法在本机运行.*自检超时"):
        load_options(failed_setup)
    with pytest.raises(ArchiveQAError, match="自检超时"):
        make_chat_model(failed_setup)
    # a changed model file makes the record stale: it is checked again, not trusted
    failed_setup.llm_model_path.write_bytes(b"GGUF" + b"\x01" * 128)
    assert read_record(failed_setup.llm_model_path) is None


def test_after_a_failed_self_check_the_app_answers_extractively_and_says_why(
    failed_setup: Settings,
) -> None:
    fake = NamedFakeEmbedding(size=16)
    ingest([SEEDS], failed_setup.index_options(), fake, progress=False)
    service = ArchiveService(failed_setup, embeddings=fake, data=load_index(failed_setup.index_dir))
    status = service.status()
    assert status.startswith("回答：摘录式：语言模型不可用（安装自检发现") and "自检超时" in status
    assert "Traceback" not in status
    answer = service.ask("瓜山未来社区民宿组团一期建成开放的是哪家酒店？", [])
    assert answer.backend == "none" and "往来酒店" in answer.text
    assert any("自检超时" in notice for notice in answer.notices)
