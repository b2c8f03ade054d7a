"""Cells of the CSV files the console exports (residents, access log).

A cell a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``=cmd|...``) is written
with a leading quote: names and labels are typed by other people, and the file is opened
on the administrator's or auditor's own computer.
"""

from __future__ import annotations

#: A cell starting with one of these is a formula to a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str | None) -> str:
    """``value`` as a cell no spreadsheet runs; None is an empty cell."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_START) else value
