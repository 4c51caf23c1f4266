"""Read issue files (.txt .md .html .htm .pdf) into text, with encoding detection.

Every failure a user can cause raises `ArchiveQAError` with a Chinese message that names the
file and the cause; nothing here guesses an encoding by hand.
"""

from __future__ import annotations

import codecs
import io
import logging
from pathlib import Path

from bs4 import BeautifulSoup
from charset_normalizer import from_bytes

from index.errors import ArchiveQAError
from index.options import ReadOptions
from index.schema import LoadedText

log = logging.getLogger(__name__)

TEXT_FORMATS = {".txt": "text", ".md": "markdown", ".html": "html", ".htm": "html"}
# charset-normalizer may name a subset of GB18030; decoding with the superset never loses text.
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936"}
_BLOCK_TAGS = (
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "title",
    "section", "article", "header", "footer", "table", "blockquote", "pre", "figcaption",
)  # fmt: skip


def load_file(path: Path, options: ReadOptions) -> LoadedText:
    """Read one file; raise `ArchiveQAError` naming the cause when it cannot be used."""
    if not path.exists():
        raise ArchiveQAError("路径不存在", source=str(path))
    if not path.is_file():
        raise ArchiveQAError("不是普通文件", source=str(path))
    suffix = path.suffix.lower()
    if suffix not in options.supported_extensions:
        supported = " ".join(options.supported_extensions)
        raise ArchiveQAError(
            f"不支持的文件类型“{suffix or '无扩展名'}”，支持：{supported}", source=path.name
        )
    size = path.stat().st_size
    if size == 0:
        raise ArchiveQAError("文件为空", source=path.name)
    limit = int(options.max_file_mb * 1024 * 1024)
    if size > limit:
        raise ArchiveQAError(
            f"文件过大（{size / 1024 / 1024:.1f} MB，上限 {options.max_file_mb:g} MB；"
            "可用 ARCHIVE_QA_MAX_FILE_MB 调整）",
            source=path.name,
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArchiveQAError(f"无法读取文件：{exc.strerror or exc}", source=path.name) from exc

    if suffix == ".pdf":
        pages = _pdf_pages(data, path.name, options)
        return LoadedText(str(path), "pdf", None, pages)
    text, encoding = decode_bytes(data, path.name)
    if TEXT_FORMATS[suffix] == "html":
        text = html_to_text(text)
    if not text.strip():
        raise ArchiveQAError("文件没有可读的文字内容", source=path.name)
    return LoadedText(str(path), TEXT_FORMATS[suffix], encoding, [text])


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Decode text bytes: BOMs first, then strict UTF-8, then charset-normalizer's best guess."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise ArchiveQAError(f"按 {encoding} 解码失败：{exc.reason}", source=name) from exc
    if b"\x00" in data[:8192]:
        raise ArchiveQAError("看起来是二进制文件（含空字节），不是文本", source=name)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        return _mostly_utf8(data, name)
    encoding = "gb18030" if best.encoding.replace("_", "").lower() in _GB_FAMILY else best.encoding
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ArchiveQAError(f"无法按 {encoding} 解码：文件可能已损坏", source=name) from exc
    if _control_ratio(text) > 0.02:
        raise ArchiveQAError("内容含大量控制字符，可能是二进制文件或编码损坏", source=name)
    return text, encoding


# A UTF-8 file with a few damaged bytes (a bad copy, a cut download) keeps its text: the
# damaged bytes become U+FFFD, and only past this count or share is it refused.
MAX_DAMAGED_CHARS = 16
MAX_DAMAGED_SHARE = 0.002


def _mostly_utf8(data: bytes, name: str) -> tuple[str, str]:
    text = data.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd")
    if damaged > max(MAX_DAMAGED_CHARS, MAX_DAMAGED_SHARE * len(text)):
        raise ArchiveQAError("无法识别文件编码（支持 UTF-8、GB18030/GBK、UTF-16）", source=name)
    log.warning("%s：%d 处损坏的 UTF-8 字节已替换为 �", name, damaged)
    return text, f"utf-8（{damaged} 处损坏字节已替换）"


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad / max(len(sample), 1)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML page, one line per block element; scripts and styles dropped."""
    soup = BeautifulSoup(markup, "lxml")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "head"]):
        tag.decompose()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_after("\n")
        if tag.name == "br":
            tag.replace_with("\n")
    return soup.get_text()


def _pdf_pages(data: bytes, name: str, options: ReadOptions) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ArchiveQAError("PDF 已加密，无法读取", source=name)
        pages = [page.extract_text() or "" for page in reader.pages]
    except ArchiveQAError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ArchiveQAError(f"PDF 文件损坏或无法解析：{exc}", source=name) from exc
    if not pages:
        raise ArchiveQAError("PDF 没有页面", source=name)
    chars = sum(len("".join(page.split())) for page in pages)
    if chars < options.min_pdf_chars_per_page * len(pages):
        raise ArchiveQAError("PDF 没有文字层（可能是扫描图片），请先做 OCR 再导入", source=name)
    return pages
