"""How llama.cpp loads the local model on this CPU, and the set-up's record of that choice.

llama.cpp repacks weights into "extra buffer types" (AVX2/AVX-512 repacked Q4 blocks, or
AMX tiles on Intel Xeons that have AMX). On AMX CPUs the AMX matrix path crashes with
Q4_K weights (upstream llama.cpp "segfault in ggml_backend_amx_mul_mat"); loading with
``use_extra_bufts=False`` avoids it. Elsewhere the set-up's self-check measures both ways
and keeps the faster one that works (`qa.model_setup`), and writes what it chose and why
next to the GGUF file; the worker process reads that record.
"""

from __future__ import annotations

import hashlib
import json
import platform
import signal
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.atomic_file import write_json_atomic
from index.errors import ArchiveQAError

if TYPE_CHECKING:
    from qa.settings import Settings

# CPU flags that decide which llama.cpp kernels run; printed by `archive-qa bench llm`.
FEATURE_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)
AMX_FLAGS = frozenset({"amx_tile", "amx_int8"})
RECORD_SUFFIX = ".runtime.json"
RECORD_VERSION = 1


@dataclass(frozen=True)
class LlamaOptions:
    """What the worker passes to llama.cpp when it loads the model."""

    use_extra_bufts: bool = True
    flash_attn: bool = True  # ~50 instead of ~38 prompt tokens/s on 2 AVX2 cores
    n_batch: int = 512

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@cache
def cpu_flags() -> frozenset[str]:
    """The flags of the first CPU in /proc/cpuinfo (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


@cache
def cpu_name() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def cpu_features(flags: frozenset[str] | None = None) -> list[str]:
    """The llama.cpp-relevant features this CPU has, in a fixed order."""
    flags = cpu_flags() if flags is None else flags
    return [flag for flag in FEATURE_FLAGS if flag in flags]


def cpu_signature(flags: frozenset[str] | None = None) -> str:
    """Short hash of the features: a record made on another kind of CPU is not reused."""
    return hashlib.sha256(" ".join(cpu_features(flags)).encode()).hexdigest()[:16]


def candidate_options(flags: frozenset[str] | None = None) -> tuple[list[LlamaOptions], str]:
    """The load options worth trying on this CPU, best first, and why."""
    flags = cpu_flags() if flags is None else flags
    if AMX_FLAGS & flags:
        return (
            [LlamaOptions(use_extra_bufts=False)],
            "CPU 支持 AMX：llama.cpp 的 AMX 矩阵乘法遇到 Q4_K 权重会段错误（上游已知问题），"
            "因此加载时关闭 extra buffer types（use_extra_bufts=False）",
        )
    return (
        [LlamaOptions(use_extra_bufts=True), LlamaOptions(use_extra_bufts=False)],
        "CPU 不支持 AMX：两种加载方式都自检并测速，取能运行且典型回答（读 300、写 40 个 token）明显更快的一种",
    )


def record_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + RECORD_SUFFIX)


def llama_cpp_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama_cpp_python")
    except PackageNotFoundError:
        return "未安装"


def record_key(model_path: Path) -> dict[str, Any]:
    """What a record was made for: the same model file, llama.cpp build and CPU kind."""
    stat = model_path.stat()
    return {
        "version": RECORD_VERSION,
        "model": model_path.name,
        "model_size": stat.st_size,
        "llama_cpp_python": llama_cpp_version(),
        "cpu": cpu_signature(),
    }


def read_record(model_path: Path) -> dict[str, Any] | None:
    """The set-up's record for this model on this CPU, or None (absent, stale or unreadable)."""
    try:
        record = json.loads(record_path(model_path).read_text(encoding="utf-8"))
        if record.get("key") == record_key(model_path):
            return record
    except (OSError, json.JSONDecodeError, AttributeError):
        pass
    return None


def write_record(model_path: Path, record: dict[str, Any]) -> Path:
    """Write the record atomically next to the model."""
    target = record_path(model_path)
    write_json_atomic(target, record)
    return target


def load_options(settings: Settings) -> LlamaOptions:
    """The options the set-up chose for this CPU for ``settings.llm_model_path``; without a
    record, the first candidate. ``settings.llm_extra_bufts`` "on"/"off"
    (``ARCHIVE_QA_LLM_EXTRA_BUFTS``) overrides that one choice, so that tests and
    benchmarks can run under each load option on one machine.

    Raises ArchiveQAError (naming cause and fix) when the set-up's self-check found that the
    model cannot run here: the caller answers extractively instead of crashing.
    """
    model_path = settings.llm_model_path
    record = read_record(model_path)
    if record is None:
        chosen = candidate_options()[0][0]
    elif record.get("status") != "ok":
        raise ArchiveQAError(
            f"安装自检发现本地语言模型无法在本机运行：{record.get('error', '原因未记录')}；"
            f"{record.get('fix', '请重新运行 python -m qa.model_setup')}",
            source=str(record_path(model_path)),
        )
    else:
        chosen = LlamaOptions(**record["chosen"])
    if settings.llm_extra_bufts == "auto":
        return chosen
    return replace(chosen, use_extra_bufts=settings.llm_extra_bufts == "on")


def describe_exit(code: int | None) -> str:
    """A process's exit code in words (negative codes are signals)."""
    if code is None:
        return "仍在运行"
    if code >= 0:
        return f"退出码 {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"信号 {-code}"
    meaning = {
        "SIGSEGV": "段错误",
        "SIGILL": "非法指令",
        "SIGKILL": "被强制结束",
        "SIGABRT": "异常中止",
        "SIGBUS": "总线错误",
        "SIGFPE": "算术错误",
    }.get(name)
    return f"{meaning}，{name}" if meaning else name


def fix_for_exit(code: int | None) -> str:
    """What a person can do about a model process that ended this way."""
    if code == -signal.SIGILL:
        return (
            "llama.cpp 是为另一种 CPU 编译的：请在本机重新编译安装 "
            "（.venv/bin/pip install --force-reinstall --no-cache-dir --no-deps "
            "llama-cpp-python==0.3.36），再运行 python -m qa.model_setup"
        )
    if code == -signal.SIGKILL:
        return "可能是内存不足被系统结束：请关闭其他占用内存的程序后重试"
    return (
        "请运行 python -m qa.model_setup 重新自检；仍失败时可设置 ARCHIVE_QA_LLM=none（摘录式）"
        "或 ARCHIVE_QA_LLM=openai（外部接口）"
    )
