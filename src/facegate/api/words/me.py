"""Words for the me part of the pages: key → (Chinese, English)."""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {}
