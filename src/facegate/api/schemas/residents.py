"""The console's resident list (a page of a search) and CSV import reports."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from facegate.api.schemas.subjects import SubjectOut
from facegate.store.resident_csv import RowProblem
from facegate.store.residents import ImportReport, ResidentPage, ResidentRow


class ResidentOut(SubjectOut):
    #: When a moved-out resident's data is erased (move-out + the site's retention, R-24).
    erase_after: datetime | None = None

    @classmethod
    def of_row(cls, row: ResidentRow) -> ResidentOut:
        out = cls.model_validate(SubjectOut.of(row.subject).model_dump())
        out.erase_after = row.erase_after
        return out


class ResidentPageOut(BaseModel):
    items: list[ResidentOut]
    #: Matches over all pages.
    total: int
    page: int
    per_page: int

    @classmethod
    def of(cls, page: ResidentPage) -> ResidentPageOut:
        return cls(
            items=[ResidentOut.of_row(row) for row in page.items],
            total=page.total,
            page=page.page,
            per_page=page.per_page,
        )


class ImportProblemOut(BaseModel):
    """One bad line: ``line`` 1 is the header (0: the whole file), ``column`` None for the
    whole line, ``reason`` a stable code, ``other_line`` the first copy of a duplicate."""

    line: int
    column: str | None
    reason: str
    other_line: int | None = None

    @classmethod
    def of(cls, problem: RowProblem) -> ImportProblemOut:
        return cls(
            line=problem.line,
            column=problem.column,
            reason=problem.reason,
            other_line=problem.other_line,
        )


class ImportReportOut(BaseModel):
    """A dry run's report; a real import that found problems answers 422 with the same
    fields in the error body, and imports nothing."""

    dry_run: bool
    #: Data rows in the file.
    rows: int
    imported: int
    problems: list[ImportProblemOut]

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportOut:
        return cls(
            dry_run=report.dry_run,
            rows=report.rows,
            imported=report.imported,
            problems=[ImportProblemOut.of(p) for p in report.problems],
        )
