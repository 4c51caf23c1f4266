from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.cli import main
from tests.conftest import DATA, SEEDS


@pytest.fixture
def index_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from qa.settings import get_settings

    index_dir = tmp_path / "index"
    monkeypatch.setenv("ARCHIVE_QA_INDEX_DIR", str(index_dir))
    get_settings.cache_clear()
    yield index_dir
    get_settings.cache_clear()


def test_ingest_and_info_json(index_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(SEEDS)]) == 0
    out = capsys.readouterr().out
    assert "读取文件 5 个" in out and "跳过 0 个" in out
    assert main(["info", "--json"]) == 0
    sources = json.loads(capsys.readouterr().out)["sources"]
    assert len(sources) == 5
    for source in sources:
        assert {"file", "paper", "date", "date_inferred", "issue_no", "total_issue_no"} <= set(
            source
        )
        for article in source["articles"]:
            assert {"id", "title", "byline", "text"} <= set(article)
    by_file = {s["file"]: s for s in sources}
    assert by_file["000_5f1999aa854af018.txt"]["date"] == "2021-01-15"
    assert by_file["001_113e799c9f3168ec.txt"]["date"] is None


def test_info_text_lists_headlines(index_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["ingest", str(SEEDS / "003_e8fc69560c1c029f.txt")])
    capsys.readouterr()
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "上城报  2020-04-21  第1492期  本期4版" in out
    assert "- 我区召开招商引资工作推进会" in out


def test_bad_files_are_reported_and_the_rest_ingested(
    index_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "ingest",
            str(DATA / "sample_gbk.txt"),
            str(DATA / "empty.txt"),
            str(DATA / "binary.txt"),
            str(DATA / "notes.rtf"),
            str(DATA / "nope.txt"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "读取文件 1 个" in out and "跳过 4 个" in out
    assert "empty.txt：文件为空" in out
    assert "binary.txt" in out and "notes.rtf：不支持的文件类型" in out
    assert "nope.txt：路径不存在" in out
    main(["info", "--json"])
    assert [s["file"] for s in json.loads(capsys.readouterr().out)["sources"]] == ["sample_gbk.txt"]


def test_corrupt_index_exits_with_chinese_message(
    index_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_env.mkdir()
    (index_env / "manifest.json").write_text("garbage", encoding="utf-8")
    assert main(["info"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：") and "rebuild" in err and "Traceback" not in err


def test_remove_and_eval_commands(
    index_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(
        ["ingest", str(SEEDS / "000_5f1999aa854af018.txt"), str(SEEDS / "003_e8fc69560c1c029f.txt")]
    )
    test_set = tmp_path / "set.jsonl"
    test_set.write_text(
        json.dumps(
            {
                "id": "t1",
                "type": "fact",
                "question": "瓜山未来社区民宿组团一期建成开放的是哪家酒店?",
                "evidence": [
                    {"file": "000_5f1999aa854af018.txt", "quote": "民宿组团一期工程往来酒店"}
                ],
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(["eval", str(test_set), "--retrieval-only", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in (
        "n",
        "hit@1",
        "hit@3",
        "hit@5",
        "recall@5",
        "mrr@10",
        "latency_p50_ms",
        "latency_p95_ms",
    ):
        assert key in summary
    assert summary["hit@5"] == 1.0
    row = json.loads((out / "questions.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert row["id"] == "t1" and {"file", "title", "text", "score"} <= set(row["retrieved"][0])
    assert row["question"].startswith("瓜山未来社区") and row["evidence"]
    assert "<td>t1</td>" in (out / "report.html").read_text(encoding="utf-8")
    assert main(["eval", "--compare", str(out), str(out), "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "report.html").is_file()

    capsys.readouterr()
    assert (
        main(["ask", "瓜山未来社区民宿组团一期建成开放的是哪家酒店？", "--llm", "none", "--cite"])
        == 0
    )
    printed = capsys.readouterr().out
    assert "往来酒店" in printed
    references = printed.split("引用格式：\n")[1].strip().splitlines()
    assert references and all(line.startswith("[") for line in references)
    assert "《今日拱墅》2021年1月15日，第2期（总第1110期），第1版，《" in references[0]

    assert main(["remove", "000_5f1999aa854af018.txt", "missing.txt"]) == 1
    text = capsys.readouterr().out
    assert "已删除 000_5f1999aa854af018.txt" in text and "missing.txt：索引中没有这个来源" in text
    assert main(["eval", str(test_set), "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["hit@5"] == 0.0


def test_eval_on_empty_index_is_a_clear_error(
    index_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_set = tmp_path / "set.jsonl"
    test_set.write_text('{"question": "问题"}\n', encoding="utf-8")
    assert main(["eval", str(test_set)]) == 2
    assert "索引为空" in capsys.readouterr().err


def test_the_check_command_names_every_scenario() -> None:
    from qa.cli import CHECK_SCENARIOS
    from qa.reliability.run import SCENARIOS

    assert set(CHECK_SCENARIOS) == set(SCENARIOS)


@pytest.mark.parametrize(
    ("uploaded", "stored"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\\\..\\\\windows\\\\evil.html", "evil.html"),
        ("<img src=x onerror=alert(1)>.txt", "img_src_x_onerror_alert_1_.txt"),
        ("a" * 200 + ".pdf", "a" * 116 + ".pdf"),
    ],
)
def test_upload_names_lose_path_parts_and_keep_their_type(uploaded: str, stored: str) -> None:
    from qa.service import safe_file_name

    assert safe_file_name(uploaded) == stored


def test_migrate_to_milvus_and_back(
    index_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.settings import get_settings
    from tests.conftest import free_port

    assert main(["ingest", str(SEEDS / "000_5f1999aa854af018.txt")]) == 0
    assert main(["migrate", "--to", "milvus"]) == 0
    out = capsys.readouterr().out
    assert "迁移到 Milvus" in out and "核对一致" in out
    monkeypatch.setenv("ARCHIVE_QA_STORE", "milvus")
    get_settings.cache_clear()
    assert main(["info", "--json"]) == 0
    sources = json.loads(capsys.readouterr().out)["sources"]
    assert [s["file"] for s in sources] == ["000_5f1999aa854af018.txt"]
    assert main(["migrate", "--to", "faiss"]) == 0
    assert "迁移到 FAISS" in capsys.readouterr().out

    monkeypatch.setenv("ARCHIVE_QA_MILVUS_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("ARCHIVE_QA_MILVUS_TIMEOUT_S", "2")
    get_settings.cache_clear()
    assert main(["migrate", "--to", "milvus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：") and "无法连接 Milvus（http://127.0.0.1:" in err
