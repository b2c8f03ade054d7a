"""Residents as CSV: reading an import file row by row, and writing the export.

Pure functions, no database: ``parse_import`` checks every row and names each problem by
line, column and a stable reason code (the console words each code in Chinese and English);
``write_export`` writes UTF-8 with a byte-order mark so that Excel opens Chinese names
correctly. The store decides what to do with the rows (``store.residents``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from facegate.errors import InvalidRecordError
from facegate.store.checks import check_birth_date, minor_until_date
from facegate.store.csv_cells import safe_cell
from facegate.store.homes import (
    HOME_FIELDS,
    REASON_CONTROL_CHARACTER,
    REASON_TOO_LONG,
    Home,
    label_problem,
)
from facegate.store.records import EXPIRING_KINDS, SubjectInfo, SubjectKind
from facegate.store.schema import NAME_LENGTH

#: Largest import file (bytes) and most rows: 50,000 rows of a community fit easily.
MAX_IMPORT_BYTES = 4 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
#: Problems reported at most: a wholly wrong file would otherwise answer megabytes.
MAX_PROBLEMS = 1_000
#: UTF-8 byte-order mark: Excel needs it to read a CSV as UTF-8.
BOM = "\ufeff"

#: Columns an import file may have; only ``name`` is required (kind defaults to resident,
#: an empty ``born`` means the office states the person is 14 or older).
IMPORT_COLUMNS = ("name", "kind", "building", "unit", "household", "born", "expires")
REQUIRED_COLUMNS = frozenset({"name"})
#: Chinese headers an office may type, mapped to the columns above.
HEADER_ALIASES = {
    "姓名": "name",
    "类型": "kind",
    "楼栋": "building",
    "单元": "unit",
    "户号": "household",
    "出生日期": "born",
    "到期日": "expires",
}
#: Kind cells: the API's values and the console's Chinese words.
KIND_CELLS = {
    "resident": SubjectKind.RESIDENT,
    "temporary": SubjectKind.TEMPORARY,
    "visitor": SubjectKind.VISITOR,
    "住户": SubjectKind.RESIDENT,
    "临时住户": SubjectKind.TEMPORARY,
    "访客": SubjectKind.VISITOR,
}
EXPORT_COLUMNS = (
    "name",
    "kind",
    "building",
    "unit",
    "household",
    "resident_number",
    "child_until",
    "expires",
    "status",
    "moved_out",
    "consent",
)
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
#: ``bad(column, reason)``: records a problem of the row being checked.
_Bad = Callable[[str, str], None]


class Reason:
    """Why a row or the file is refused: stable codes (pages word ``import_reason_<code>``)."""

    EMPTY_FILE = "empty_file"
    NOT_UTF8 = "not_utf8"
    TOO_LARGE = "too_large"
    TOO_MANY_ROWS = "too_many_rows"
    BAD_CSV = "bad_csv"
    MISSING_COLUMN = "missing_column"
    UNKNOWN_COLUMN = "unknown_column"
    DUPLICATE_COLUMN = "duplicate_column"
    FIELD_COUNT = "field_count"
    REQUIRED = "required"
    TOO_LONG = REASON_TOO_LONG
    CONTROL_CHARACTER = REASON_CONTROL_CHARACTER
    BAD_KIND = "bad_kind"
    BAD_DATE = "bad_date"
    BAD_BIRTH_DATE = "bad_birth_date"
    EXPIRES_REQUIRED = "expires_required"
    EXPIRES_NOT_ALLOWED = "expires_not_allowed"
    EXPIRES_PAST = "expires_past"
    DUPLICATE_ROW = "duplicate_row"
    ALREADY_REGISTERED = "already_registered"


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem: the file's line (1 is the header), the column (None: the whole line or
    file) and the reason code; ``other_line`` names the first line of a duplicate."""

    line: int
    column: str | None
    reason: str
    other_line: int | None = None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One good row, ready to be registered."""

    line: int
    name: str
    kind: SubjectKind
    home: Home
    #: The day a child turns 14; None for adults (born not given or 14 already).
    minor_until: date | None
    expires_at: datetime | None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes two rows the same person: name and home, case-folded."""
        return identity(self.name, self.home)


@dataclass
class ParsedImport:
    """The good rows and every problem found; import only when ``problems`` is empty."""

    rows: list[ImportRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    #: Data rows read (blank lines aside), good or not.
    row_count: int = 0

    def add(self, problem: RowProblem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def identity(name: str, home: Home) -> tuple[str, str, str, str]:
    """Name and home case-folded: two rows with the same identity are the same person."""
    return (
        name.casefold(),
        (home.building or "").casefold(),
        (home.unit or "").casefold(),
        (home.household or "").casefold(),
    )


def parse_import(data: bytes, now: datetime) -> ParsedImport:
    """Check every row of an import file (UTF-8, optional BOM, LF or CRLF).

    The header names the columns (``IMPORT_COLUMNS`` or their Chinese aliases, any order).
    File-level problems (empty, not UTF-8, too large, too many rows, bad header) stop the
    check; otherwise every row is checked and every problem kept (up to ``MAX_PROBLEMS``).
    Rows that repeat an earlier row's name and home are problems too.
    """
    result = ParsedImport()
    if len(data) > MAX_IMPORT_BYTES:
        result.add(RowProblem(0, None, Reason.TOO_LARGE))
        return result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.add(RowProblem(0, None, Reason.NOT_UTF8))
        return result
    if "\x00" in text:
        result.add(RowProblem(0, None, Reason.BAD_CSV))
        return result
    records = list(_records(text, result))
    if result.problems:
        return result
    if not records or not any(cell.strip() for cell in records[0][1]):
        result.add(RowProblem(1, None, Reason.EMPTY_FILE))
        return result
    columns = _header(records[0][1], result)
    if result.problems:
        return result
    body = [(line, cells) for line, cells in records[1:] if any(c.strip() for c in cells)]
    if not body:
        result.add(RowProblem(1, None, Reason.EMPTY_FILE))
        return result
    if len(body) > MAX_IMPORT_ROWS:
        result.add(RowProblem(body[MAX_IMPORT_ROWS][0], None, Reason.TOO_MANY_ROWS))
        return result
    result.row_count = len(body)
    seen: dict[tuple[str, str, str, str], int] = {}
    for line, cells in body:
        row = _row(line, cells, columns, now, result)
        if row is None:
            continue
        first = seen.setdefault(row.key, line)
        if first != line:
            result.add(RowProblem(line, None, Reason.DUPLICATE_ROW, other_line=first))
            continue
        result.rows.append(row)
    return result


def _records(text: str, result: ParsedImport) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) per CSV record; a malformed record is a problem."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error:
        result.add(RowProblem(reader.line_num, None, Reason.BAD_CSV))


def _header(cells: list[str], result: ParsedImport) -> list[str]:
    columns: list[str] = []
    for cell in cells:
        raw = cell.strip()
        name = HEADER_ALIASES.get(raw, raw.lower())
        if name not in IMPORT_COLUMNS:
            result.add(RowProblem(1, raw, Reason.UNKNOWN_COLUMN))
        elif name in columns:
            result.add(RowProblem(1, name, Reason.DUPLICATE_COLUMN))
        columns.append(name)
    for name in sorted(REQUIRED_COLUMNS - set(columns)):
        result.add(RowProblem(1, name, Reason.MISSING_COLUMN))
    return columns


def _row(
    line: int, cells: list[str], columns: list[str], now: datetime, result: ParsedImport
) -> ImportRow | None:
    if len(cells) != len(columns):
        result.add(RowProblem(line, None, Reason.FIELD_COUNT))
        return None
    values = {column: cell.strip() for column, cell in zip(columns, cells, strict=True)}
    before = len(result.problems)

    def bad(column: str, reason: str) -> None:
        result.add(RowProblem(line, column, reason))

    name = values.get("name", "")
    if not name:
        bad("name", Reason.REQUIRED)
    else:
        problem = label_problem(name, NAME_LENGTH)
        if problem is not None:
            bad("name", problem)
    labels: dict[str, str | None] = {}
    for column, max_length in HOME_FIELDS.items():
        value = values.get(column, "")
        problem = label_problem(value, max_length) if value else None
        if problem is not None:
            bad(column, problem)
        labels[column] = value or None
    kind_cell = values.get("kind", "")
    kind = KIND_CELLS.get(kind_cell.lower()) if kind_cell else SubjectKind.RESIDENT
    if kind is None:
        bad("kind", Reason.BAD_KIND)
    minor_until = _minor_until(values.get("born", ""), now.date(), bad)
    expires_at = _expires(values.get("expires", ""), kind, now, bad)
    if len(result.problems) != before or kind is None:
        return None
    return ImportRow(
        line=line,
        name=name,
        kind=kind,
        home=Home(**labels),
        minor_until=minor_until,
        expires_at=expires_at,
    )


def _parse_date(cell: str) -> date | None:
    match = _DATE.fullmatch(cell)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _minor_until(cell: str, today: date, bad: _Bad) -> date | None:
    if not cell:
        return None
    born = _parse_date(cell)
    if born is None:
        bad("born", Reason.BAD_DATE)
        return None
    try:
        check_birth_date(born, today)
    except InvalidRecordError:
        bad("born", Reason.BAD_BIRTH_DATE)
        return None
    until = minor_until_date(born)
    return until if until > today else None


def _expires(cell: str, kind: SubjectKind | None, now: datetime, bad: _Bad) -> datetime | None:
    if not cell:
        if kind in EXPIRING_KINDS:
            bad("expires", Reason.EXPIRES_REQUIRED)
        return None
    day = _parse_date(cell)
    if day is None:
        bad("expires", Reason.BAD_DATE)
        return None
    if kind is SubjectKind.RESIDENT:
        bad("expires", Reason.EXPIRES_NOT_ALLOWED)
        return None
    # The end of that day, as the console's date field means it.
    end = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    if end <= now:
        bad("expires", Reason.EXPIRES_PAST)
        return None
    return end


def write_export(subjects: Iterable[SubjectInfo]) -> bytes:
    """The subjects as CSV (``EXPORT_COLUMNS``), UTF-8 with BOM, CRLF line ends. Dates are
    ISO (YYYY-MM-DD); a cell a spreadsheet would run as a formula starts with a quote."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for s in subjects:
        writer.writerow(
            [
                safe_cell(s.display_name),
                s.kind.value,
                safe_cell(s.building),
                safe_cell(s.unit),
                safe_cell(s.household),
                s.resident_number or "",
                s.minor_until.isoformat() if s.minor and s.minor_until else "",
                s.expires_at.date().isoformat() if s.expires_at else "",
                "moved_out" if s.moved_out_at else s.status.value,
                s.moved_out_at.date().isoformat() if s.moved_out_at else "",
                "yes" if s.has_active_consent and not s.moved_out_at else "no",
            ]
        )
    return (BOM + out.getvalue()).encode("utf-8")
