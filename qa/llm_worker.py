"""The local model's own process: loads the GGUF through llama.cpp and answers requests
sent over a pipe, one at a time, streaming tokens back.

Running llama.cpp here, not in the app, means a crash or a hang in native code (a CPU
kernel fault, an out-of-memory kill) ends this process only; the supervisor in
`qa.llm_process` notices, tells the person asking, and starts a new one.

Messages to the worker: ``{"op": "chat" | "speed" | "cancel", "id": n, ...}``, or None to
stop. Messages from it: ``(kind, id, payload)`` with kind ``ready``, ``failed``, ``token``,
``done`` or ``error``. The evaluated prompt of each context stays cached between
requests, so prompts that share a prefix (the fixed system prompt) skip re-reading it.

The supervisor starts it as ``python -m qa.llm_worker --serve FD``: a fresh interpreter
that imports only this module and llama.cpp, not the web app that started it.
``python -m qa.llm_worker --self-check MODEL`` loads the model, measures it and writes one
line of JSON: the set-up runs it in a child process to see whether the model runs here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from qa.llm_runtime import LlamaOptions

# About 200 tokens of ordinary news Chinese: what a self-check or a benchmark reads.
SPEED_TEXT = (
    "本报讯 为进一步提升城市管理水平，区城管局近日启动背街小巷环境整治行动，"
    "对辖区内一百二十条背街小巷的路面、立面、管线和绿化进行全面改造。"
    "据介绍，此次整治将持续到年底，重点解决道路破损、违规停车、垃圾乱堆等群众反映强烈的问题，"
    "同时新增公共停车位三百余个，改造公厕十五座，增设休闲座椅和健身设施。"
    "区城管局相关负责人表示，整治过程中将充分听取沿街居民和商户的意见，"
    "做到一街一方案，力争把背街小巷打造成干净整洁、安全有序、文明和谐的居住环境。"
    "截至目前，已有三十八条背街小巷完成改造并通过验收，居民满意度达到百分之九十五以上。"
)
SPEED_RUNS = 3
SELF_CHECK_QUESTION = "请用一句话回答：杭州是哪个省的省会？"


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker loads: one llama.cpp context per name, sharing the mmapped weights."""

    model_path: str
    threads: int
    contexts: tuple[tuple[str, int], ...] = (("answer", 4096),)  # (name, tokens)
    options: LlamaOptions = field(default_factory=LlamaOptions)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> WorkerConfig:
        data = json.loads(text)
        return cls(
            model_path=data["model_path"],
            threads=data["threads"],
            contexts=tuple((name, tokens) for name, tokens in data["contexts"]),
            options=LlamaOptions(**data["options"]),
        )


def system_info() -> str:
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip()


@contextmanager
def model_params(options: LlamaOptions) -> Iterator[None]:
    """While inside, llama.cpp models load with ``options.use_extra_bufts`` (a model
    parameter the Python constructor does not take: the default parameters it starts from
    are adjusted; the process loads nothing else meanwhile)."""
    import llama_cpp.llama_cpp as low_level

    original = low_level.llama_model_default_params

    def adjusted() -> Any:
        params = original()
        params.use_extra_bufts = options.use_extra_bufts
        return params

    low_level.llama_model_default_params = adjusted
    try:
        yield
    finally:
        low_level.llama_model_default_params = original


def load_llama(model_path: str, n_ctx: int, threads: int, options: LlamaOptions) -> Any:
    """A llama.cpp model and context, loaded with ``options``."""
    import llama_cpp

    with model_params(options):
        return llama_cpp.Llama(
            model_path=model_path,
            n_ctx=n_ctx,
            n_threads=threads,
            n_batch=options.n_batch,
            flash_attn=options.flash_attn,
            verbose=False,
        )


def measure_speed(llama: Any, text: str = SPEED_TEXT, gen_tokens: int = 32) -> dict[str, float]:
    """Prompt-reading and generation tokens/s, from an empty cache (greedy decoding)."""
    tokens = llama.tokenize(text.encode("utf-8"), add_bos=False)
    llama.reset()
    started = time.perf_counter()
    llama.eval(tokens)
    prompt_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(gen_tokens):
        llama.eval([llama.sample(temp=0.0)])
    gen_s = time.perf_counter() - started
    llama.reset()
    return {
        "prompt_tokens": len(tokens),
        "prompt_tokens_per_s": round(len(tokens) / prompt_s, 1),
        "gen_tokens": gen_tokens,
        "gen_tokens_per_s": round(gen_tokens / gen_s, 1),
    }


class TokenConfidence:
    """A logits processor that reads, at every step, the log-probability of the token
    greedy decoding takes (the argmax: answers are decoded at temperature 0), and at the
    first step the log-probabilities of the first tokens of ``watch`` (the refusal phrase,
    "是"/"否"). It changes no score. llama.cpp keeps only the last step's logits unless a
    context holds all of them (``logits_all``, gigabytes); reading them as they pass costs
    about a millisecond a token."""

    def __init__(self, llama: Any, watch: list[str]) -> None:
        self.watch = {
            text: ids[0]
            for text in watch
            if (ids := llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        }
        self.steps: list[tuple[int, float]] = []  # (token id, log-probability)
        self.first: dict[str, float] = {}

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        top = int(np.argmax(scores))
        peak = float(scores[top])
        norm = peak + float(np.log(np.exp(scores - peak, dtype=np.float64).sum()))
        if not self.steps:
            self.first = {text: float(scores[i]) - norm for text, i in self.watch.items()}
        self.steps.append((top, peak - norm))
        return scores

    def pieces(self, llama: Any) -> list[tuple[str, float]]:
        """(text, log-probability) of each generated token; special tokens (the end of
        turn that closes an answer) detokenize to nothing and are left out."""
        pieces = []
        for token, logprob in self.steps:
            text = llama.detokenize([token]).decode("utf-8", errors="replace")
            if text:
                pieces.append((text, round(logprob, 4)))
        return pieces


def stream_chat(
    llama: Any, request: dict[str, Any], cancelled: Any, confidence: TokenConfidence | None = None
) -> Any:
    """Yield the tokens of a chat completion; stop early when ``cancelled()`` says so."""
    from llama_cpp import LogitsProcessorList

    for part in llama.create_chat_completion(
        messages=request["messages"],
        max_tokens=request.get("max_tokens", 200),
        temperature=request.get("temperature", 0.0),
        stop=request.get("stop") or [],
        stream=True,
        logits_processor=LogitsProcessorList([confidence]) if confidence else None,
    ):
        token = part["choices"][0]["delta"].get("content") or ""
        if token:
            yield token
        if cancelled():
            return


def _chat(conn: Connection, llama: Any, request: dict[str, Any]) -> bool:
    """Answer one chat request; False when the supervisor asked this process to stop."""
    rid = request["id"]
    stop = {"exit": False}

    def cancelled() -> bool:
        while conn.poll():
            message = conn.recv()
            if message is None:
                stop["exit"] = True
            if message is None or message.get("op") == "cancel":
                return True
        return False

    cached_before = llama.input_ids[: llama.n_tokens].copy()
    confidence = TokenConfidence(llama, request.get("watch") or [])
    started = time.perf_counter()
    first = None
    count = 0
    for token in stream_chat(llama, request, cancelled, confidence):
        if first is None:
            first = time.perf_counter() - started
        count += 1
        conn.send(("token", rid, token))
    conn.send(("done", rid, {
        "first_token_s": round(first or 0.0, 3),
        "total_s": round(time.perf_counter() - started, 3),
        "completion_tokens": count,
        **prompt_token_counts(cached_before, llama.input_ids[: llama.n_tokens], count),
        "token_logprobs": confidence.pieces(llama),
        "first_logprobs": {text: round(lp, 4) for text, lp in confidence.first.items()},
    }))  # fmt: skip
    return not stop["exit"]


def prompt_token_counts(before: Any, after: Any, generated: int) -> dict[str, int]:
    """Prompt tokens of the last request, and how many of them llama.cpp had to read (the
    rest was the cached prefix). ``before``/``after``: the context's tokens around it; the
    last generated token may not have been evaluated, so the counts are within one."""
    prompt = max(len(after) - generated, 0)
    shared = 0
    for old, new in zip(before[:prompt], after[:prompt], strict=False):
        if old != new:
            break
        shared += 1
    return {"prompt_tokens": prompt, "read_tokens": prompt - shared}


def serve(conn: Connection, config: WorkerConfig) -> None:
    """The worker's main loop (the target of the supervised process)."""
    try:
        contexts = {
            name: load_llama(config.model_path, n_ctx, config.threads, config.options)
            for name, n_ctx in config.contexts
        }
    except Exception as exc:
        conn.send(("failed", 0, f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", 0, {"pid": os.getpid(), "system_info": system_info()}))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the supervisor is gone
        if request is None:
            return
        if request.get("op") == "cancel":
            continue  # arrived after its request had finished
        try:
            llama = contexts[request["context"]]
            if request["op"] == "speed":
                conn.send(("done", request["id"], measure_speed(llama)))
            elif not _chat(conn, llama, request):
                return
        except (BrokenPipeError, EOFError):
            return
        except Exception as exc:
            conn.send(("error", request["id"], f"{type(exc).__name__}: {exc}"))


def self_check(model_path: str, threads: int, options: LlamaOptions) -> dict[str, Any]:
    """Load, measure and ask one short question; the result the set-up records."""
    started = time.perf_counter()
    llama = load_llama(model_path, 1024, threads, options)
    load_s = time.perf_counter() - started
    # The median of a few runs: single runs on a shared VM vary by ±10%.
    runs = [measure_speed(llama) for _ in range(SPEED_RUNS)]
    speed = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    text = "".join(
        stream_chat(
            llama,
            {"messages": [{"role": "user", "content": SELF_CHECK_QUESTION}], "max_tokens": 24},
            lambda: False,
        )
    ).strip()
    return {"ok": bool(text), "text": text, "load_s": round(load_s, 2), **speed}


def run_target(spec: str, fd: int, config: WorkerConfig) -> None:
    """Serve on the inherited pipe ``fd`` with the worker function ``module:function``."""
    module, _, name = spec.partition(":")
    target = getattr(importlib.import_module(module), name)
    conn = Connection(fd)
    try:
        target(conn, config)
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="本地语言模型进程（由 qa.llm_process 启动）或自检")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--self-check", metavar="MODEL", help="自检：加载 GGUF、测速、回答一句")
    mode.add_argument("--serve", type=int, metavar="FD", help="在继承的管道上服务")
    parser.add_argument("--target", default="qa.llm_worker:serve", help="module:function")
    parser.add_argument("--config", help="WorkerConfig as JSON (--serve)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--options", default="{}", help="LlamaOptions as JSON (--self-check)")
    args = parser.parse_args(argv)
    if args.serve is not None:
        run_target(args.target, args.serve, WorkerConfig.from_json(args.config))
        return 0
    options = LlamaOptions(**json.loads(args.options))
    try:
        result = self_check(args.self_check, args.threads, options)
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    result["system_info"] = system_info()
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0 if result["ok"] else 3


if __name__ == "__main__":
    sys.exit(main())
