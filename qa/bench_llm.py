"""`archive-qa bench llm`: how fast the local model is on this machine.

Prints the CPU and its features, llama.cpp's system info, the load option the set-up chose,
prompt-reading and generation tokens/s, and the time to first token of typical answer
prompts (fixed system prompt already read, as in the running app). Answer latencies
elsewhere in the README scale with these figures. ``--compare-in-process`` also runs the
same prompts in this process, to show what the separate model process costs.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from qa.llm import local_model_process, message_dicts
from qa.llm_runtime import cpu_features, cpu_name, load_options, read_record
from qa.llm_worker import load_llama, stream_chat
from qa.prompts import chat_prompt
from qa.settings import Settings

Chat = Callable[[list[dict[str, str]]], Iterator[str]]
QUESTIONS = ("这篇报道的主要内容是什么？", "文中提到了哪些具体数字？", "这件事是什么时候发生的？")


def typical_prompts(settings: Settings, count: int = len(QUESTIONS)) -> list[list[dict[str, str]]]:
    """Answer prompts like the app's: one passage of the context size from a seed issue
    each, with its provenance line, and a question."""
    files = sorted(settings.seeds_dir.glob("*.txt"))[:count]
    if not files:
        raise FileNotFoundError(f"没有样例报纸：{settings.seeds_dir}")
    prompts = []
    for path, question in zip(files, QUESTIONS, strict=False):
        body = " ".join(path.read_text(encoding="utf-8").split())
        excerpt = body[len(body) // 3 :][: settings.answer_context_chars]
        passages = f"[1] 样例报纸 2021-01-01 《{path.stem}》\n{excerpt}"
        messages = chat_prompt("answer").format_messages(passages=passages, question=question)
        prompts.append(message_dicts(messages))
    return prompts


def first_token_seconds(chat: Chat, prompts: list[list[dict[str, str]]]) -> list[float]:
    """Seconds to the first token of each prompt, after the shared system prompt is read."""
    for _ in chat(prompts[0][:1]):  # the app's warm-up: the fixed system prompt
        pass
    times = []
    for messages in prompts:
        started = time.perf_counter()
        for _ in chat(messages):
            break
        times.append(time.perf_counter() - started)
    return times


def bench_llm(settings: Settings, compare_in_process: bool = False) -> list[str]:
    """The report's lines."""
    path: Path = settings.llm_model_path
    process = local_model_process(settings)
    options = load_options(settings)
    record = read_record(path) or {}
    prompts = typical_prompts(settings)
    speed = process.speed()
    lines = [
        f"机器：{cpu_name()}，{os.cpu_count()} 核，使用 {settings.threads} 线程",
        f"CPU 特性：{' '.join(cpu_features()) or '未知'}",
        f"llama.cpp：{process.system_info}",
        f"加载方式：{options}",
        f"  原因：{record.get('reason', '没有安装自检记录，按 CPU 特性选择')}",
        f"读提示：{speed['prompt_tokens_per_s']} tokens/s（{speed['prompt_tokens']} 个 token，无缓存）",
        f"生成：{speed['gen_tokens_per_s']} tokens/s（{speed['gen_tokens']} 个 token）",
    ]
    in_worker = first_token_seconds(lambda m: process.chat("answer", m, max_tokens=1), prompts)
    lines.append(_first_token_line("首 token（独立模型进程）", in_worker))
    if compare_in_process:
        llama = load_llama(str(path), settings.llm_context_tokens, settings.threads,
                           options)  # fmt: skip
        in_here = first_token_seconds(
            lambda m: stream_chat(llama, {"messages": m, "max_tokens": 1}, lambda: False),
            prompts,
        )
        lines.append(_first_token_line("首 token（本进程内，对照）", in_here))
        ratio = statistics.median(in_worker) / statistics.median(in_here)
        lines.append(f"独立进程 / 本进程 首 token 中位数之比：{ratio:.3f}")
    return lines


def _first_token_line(label: str, times: list[float]) -> str:
    shown = " ".join(f"{t:.2f}" for t in times)
    return f"{label}：中位数 {statistics.median(times):.2f} 秒（各次 {shown}；典型回答提示词）"
