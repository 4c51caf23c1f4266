"""Shared fixtures: paths to the seeds, the test data and ../shared (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh index folder per test."""
    return Settings(index_dir=tmp_path / "index")


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared 不存在（{SHARED}）：跳过依赖共享评测数据的测试")
    return SHARED
