"""`archive-qa check --quick`, the short version of the reliability report, with the real
models: two writers, kill -9 during ingest, remove and an app upload, damaged index and
model files, bad input, hostile content (local model), load (20 users extractive, 3 on the
local model), plain-text articles. Every row must pass and the report must be written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_the_quick_reliability_check_passes(tmp_path: Path) -> None:
    if not (ROOT / "models" / "multilingual-e5-small").is_dir():
        pytest.skip("嵌入模型未准备（make setup）")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "qa.cli",
            "check",
            "--quick",
            "--kills",
            "2",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    report = json.loads((tmp_path / "reliability.json").read_text(encoding="utf-8"))
    failed = [row for row in report["rows"] if not row["ok"]]
    assert result.returncode == 0 and not failed, failed or result.stderr[-2000:]
    scenarios = {row["scenario"] for row in report["rows"]}
    assert {
        "两个写入",
        "kill -9",
        "损坏的索引",
        "损坏的模型",
        "坏输入·导入",
        "坏输入·上传",
        "坏输入·提问",
        "坏输入·评测",
        "恶意内容",
        "负载",
        "不丢文本",
    } <= scenarios
    assert sum(row["scenario"].startswith("坏输入") for row in report["rows"]) >= 30
    assert sum(row["scenario"] == "kill -9" for row in report["rows"]) == 2 + 1  # 1: the app
    assert (tmp_path / "reliability.md").read_text(encoding="utf-8").startswith("| 场景 |")
