"""Metric definitions shared by evaluation and tests (DESIGN.md section 6)."""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, then every whitespace character removed."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))
