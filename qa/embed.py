"""The embedding model behind LangChain's `Embeddings` interface, offline.

multilingual-e5-small needs prefixes: "query: " for questions, "passage: " for documents.
Two engines read the same converted folder:

- ``torch``: sentence-transformers, fp32 (the reference);
- ``onnx-int8``: the same network exported to ONNX at set-up, fused and dynamically
  quantised to int8, run by onnxruntime (about twice as fast on 2 cores; cosine to fp32 ≈ 0.99).

Texts are sorted by length and batched, so padding stays small.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from index.errors import ArchiveQAError
from qa.settings import Settings

log = logging.getLogger(__name__)

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
ONNX_INT8_FILE = "onnx/model_fused_qint8.onnx"
MAX_TOKENS = 512


class E5Embeddings(Embeddings):
    """multilingual-e5 embeddings, L2-normalised float32, from a local folder."""

    def __init__(
        self, folder: Path, backend: str = "onnx-int8", batch_size: int = 32, threads: int = 2
    ):
        if not (folder / "config.json").exists():
            raise ArchiveQAError(
                "嵌入模型目录不存在或不完整，请运行 make setup", source=str(folder)
            )
        self.folder = folder
        self.backend = backend
        self.batch_size = batch_size
        self.model_id = f"{folder.name}@{backend}"
        if backend == "torch":
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(threads)
            self._st = SentenceTransformer(str(folder), device="cpu")
            self.dimension = int(self._st.get_embedding_dimension())
        elif backend == "onnx-int8":
            import onnxruntime as ort
            from tokenizers import Tokenizer

            model_file = folder / ONNX_INT8_FILE
            if not model_file.exists():
                raise ArchiveQAError(
                    "缺少 ONNX int8 模型，请运行 make setup", source=str(model_file)
                )
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            self._session = ort.InferenceSession(
                str(model_file), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self._tokenizer.enable_truncation(MAX_TOKENS)
            self.dimension = int(self._session.get_outputs()[0].shape[-1])
        else:
            raise ArchiveQAError(
                f"未知的嵌入后端“{backend}”（可选 torch、onnx-int8）",
                source="ARCHIVE_QA_EMBEDDING_BACKEND",
            )

    def encode(self, texts: list[str], prefix: str) -> np.ndarray:
        """Embeddings of `texts` with `prefix`, shape (n, dim), rows L2-normalised."""
        texts = [prefix + " ".join(text.split()) for text in texts]  # e5 wants no stray spaces
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.backend == "torch":
            return self._st.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            ).astype(np.float32)
        return self._encode_onnx(texts)

    def _encode_onnx(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        result = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.ones((len(rows), width), dtype=np.int64)  # 1 = <pad>
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for row, index in enumerate(rows):
                tokens = encodings[index].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
            result[rows] = pooled
        return result

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts, PASSAGE_PREFIX).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text], QUERY_PREFIX)[0].tolist()


def load_embeddings(settings: Settings) -> E5Embeddings:
    return E5Embeddings(
        settings.embedding_model_path,
        backend=settings.embedding_backend,
        batch_size=settings.embedding_batch_size,
        threads=settings.threads,
    )
