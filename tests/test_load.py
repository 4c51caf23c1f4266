from __future__ import annotations

from pathlib import Path

import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from index.errors import ArchiveQAError
from index.load import decode_bytes, html_to_text, load_file
from qa.settings import Settings
from tests.conftest import DATA

EXPECTED_SNIPPET = "临江区召开老旧小区改造"


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("sample_issue.txt", "utf-8"),
        ("sample_utf8_bom.txt", "utf-8-sig"),
        ("sample_gbk.txt", "gb18030"),
        ("sample_gb18030.txt", "gb18030"),
        ("sample_utf16.txt", "utf-16"),
    ],
)
def test_text_encodings_are_detected(name: str, encoding: str, settings: Settings) -> None:
    loaded = load_file(DATA / name, settings.read_options())
    assert loaded.encoding == encoding
    assert EXPECTED_SNIPPET in loaded.text
    assert "\ufeff" not in loaded.text


def test_gb18030_only_character_survives(settings: Settings) -> None:
    assert "樟树㐀" in load_file(DATA / "sample_gb18030.txt", settings.read_options()).text


def test_html_keeps_text_and_drops_scripts_and_styles(settings: Settings) -> None:
    loaded = load_file(DATA / "sample.html", settings.read_options())
    assert loaded.file_format == "html"
    assert EXPECTED_SNIPPET in loaded.text
    assert "脚本" not in loaded.text and "color:red" not in loaded.text
    lines = [line for line in loaded.text.splitlines() if line.strip()]
    assert "临江报" in lines and "春季植树活动在滨江公园举行" in lines


def test_html_inline_tags_do_not_break_lines() -> None:
    text = html_to_text("<p>会议<b>强调</b>，要<a href='#'>抓好</a>落实。</p><p>第二段</p>")
    assert [line for line in text.splitlines() if line] == ["会议强调，要抓好落实。", "第二段"]


def _write_pdf(path: Path, pages: list[list[str]]) -> None:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    for lines in pages:
        pdf.setFont("STSong-Light", 11)
        for row, line in enumerate(lines):
            pdf.drawString(40, 800 - 18 * row, line)
        pdf.showPage()
    pdf.save()


def test_pdf_text_layer_is_read_per_page(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "issue.pdf"
    _write_pdf(
        path,
        [
            ["临江报 2023年3月8日", "第一版内容：区里召开老旧小区改造推进会。"],
            ["第二版内容：春季植树活动在滨江公园举行。"],
        ],
    )
    loaded = load_file(path, settings.read_options())
    assert loaded.file_format == "pdf"
    assert len(loaded.pages) == 2
    assert "第一版内容" in loaded.pages[0] and "第二版内容" in loaded.pages[1]


def test_pdf_without_text_layer_is_refused(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(40, 40, 200, 200, fill=1)  # a picture, no text
    pdf.showPage()
    pdf.save()
    with pytest.raises(ArchiveQAError, match="没有文字层"):
        load_file(path, settings.read_options())


def test_corrupt_pdf_is_refused(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n this is not really a pdf")
    with pytest.raises(ArchiveQAError, match="PDF"):
        load_file(path, settings.read_options())


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("empty.txt", "文件为空"),
        ("binary.txt", "二进制"),
        ("notes.rtf", "不支持的文件类型"),
        ("does-not-exist.txt", "路径不存在"),
    ],
)
def test_bad_files_name_the_cause(name: str, cause: str, settings: Settings) -> None:
    with pytest.raises(ArchiveQAError, match=cause) as info:
        load_file(DATA / name, settings.read_options())
    assert name in str(info.value)


def test_file_over_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_text("新闻" * 400_000, encoding="utf-8")  # 2.4 MB
    with pytest.raises(ArchiveQAError, match="文件过大"):
        load_file(path, Settings(max_file_mb=1).read_options())


def test_undecodable_bytes_are_refused() -> None:
    garbage = bytes([0x81, 0x30, 0xFF, 0xFE, 0x07, 0x08] * 500)
    with pytest.raises(ArchiveQAError):
        decode_bytes(garbage, "garbage.txt")


def test_a_few_damaged_utf8_bytes_keep_the_text(tmp_path: Path, settings: Settings) -> None:
    text = "临江区召开老旧小区改造推进会。会议要求年底前完成改造。"
    path = tmp_path / "damaged.txt"
    raw = text.encode("utf-8")
    path.write_bytes(raw[:12] + b"\xff\xfe" + raw[12:])
    loaded = load_file(path, settings.read_options())
    assert "年底前完成改造" in loaded.text and "损坏字节已替换" in loaded.encoding


def test_mostly_damaged_bytes_are_still_refused(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "junk.txt"
    path.write_bytes(bytes(range(0x80, 0x100)) * 40)
    with pytest.raises(ArchiveQAError):
        load_file(path, settings.read_options())
