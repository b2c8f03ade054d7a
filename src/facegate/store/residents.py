"""The console's resident list: search and paging in SQL, CSV import (all or nothing) and
export.

Names are stored as plain text (``subject.display_name``; the face templates are what is
encrypted), so a name search is a ``LIKE`` in SQL, which works for Chinese as for Latin
names. Only the page asked for is turned into records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, func, insert, or_, select
from sqlalchemy.orm import Session

from facegate.store.audit import AuditAction, NewEvent, append_events
from facegate.store.checks import check_text
from facegate.store.homes import Home, check_label
from facegate.store.module import StoreModule
from facegate.store.queries import site_by_code, usable_consent
from facegate.store.records import SubjectInfo, SubjectKind, SubjectStatus
from facegate.store.resident_csv import (
    ImportRow,
    ParsedImport,
    Reason,
    RowProblem,
    identity,
    parse_import,
    write_export,
)
from facegate.store.schema import (
    ACTOR_LENGTH,
    BUILDING_LENGTH,
    NAME_LENGTH,
    SUBJECT_LIST_ORDER,
    UNIT_LENGTH,
    Consent,
    Site,
    Subject,
    Template,
    new_id,
    new_resident_number,
    utcnow,
)

#: Page sizes the list accepts; the console asks for ``DEFAULT_PER_PAGE``.
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
#: Longest search text (a name, or part of one, or a resident number).
MAX_QUERY_LENGTH = NAME_LENGTH
#: ``LIKE`` wildcards typed by the user are matched literally.
_LIKE_ESCAPE = "\\"


class ResidentFilter(StrEnum):
    """Which of the site's subjects a search lists (tombstones never)."""

    ALL = "all"
    #: Not moved out.
    ACTIVE = "active"
    MOVED_OUT = "moved_out"
    #: Under 14 today (R-04).
    CHILD = "child"


@dataclass(frozen=True, slots=True)
class ResidentQuery:
    """What to list: ``text`` matches a name (any part) or a resident number (its start)."""

    text: str | None = None
    building: str | None = None
    unit: str | None = None
    status: ResidentFilter = ResidentFilter.ALL
    kind: SubjectKind | None = None
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


@dataclass(frozen=True, slots=True)
class ResidentRow:
    """One listed subject, and when a moved-out resident's data is erased (R-24)."""

    subject: SubjectInfo
    erase_after: datetime | None


@dataclass(frozen=True, slots=True)
class ResidentPage:
    items: list[ResidentRow]
    #: Subjects matching the query, over all pages.
    total: int
    page: int
    per_page: int


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: ``imported`` is 0 whenever ``problems`` is not empty."""

    dry_run: bool
    rows: int
    imported: int
    problems: list[RowProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


class Residents(StoreModule):
    """``store.residents``: the site's subjects as the console lists, imports and exports them."""

    def search(self, site_code: str, query: ResidentQuery) -> ResidentPage:
        """One page of the site's subjects, ordered by building, unit, household and name
        (``SUBJECT_LIST_ORDER``; no building first).

        ``ValueError`` names a bad page or page size. Filtering, counting and paging all run
        in SQL; only the page's subjects are read as records.
        """
        if query.page < 1:
            raise ValueError(f"page must be 1 or more, got {query.page}")
        if not 1 <= query.per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1 to {MAX_PER_PAGE}, got {query.per_page}")
        with self._store.reading() as session:
            site = site_by_code(session, site_code)
            conditions = _conditions(site.id, query)
            total = session.scalar(select(func.count(Subject.id)).where(*conditions)) or 0
            ids = list(
                session.scalars(
                    _ordered(select(Subject.id).where(*conditions))
                    .limit(query.per_page)
                    .offset((query.page - 1) * query.per_page)
                )
            )
            infos = _infos(session, site, ids)
            keep = timedelta(days=site.resident_retention_days)
            items = [
                ResidentRow(info, info.moved_out_at + keep if info.moved_out_at else None)
                for info in infos
            ]
        return ResidentPage(items, int(total), query.page, query.per_page)

    def import_csv(self, site_code: str, data: bytes, *, dry_run: bool, actor: str) -> ImportReport:
        """Check an import file and, unless ``dry_run`` or any row is bad, register every row
        in one transaction: all or nothing.

        Every bad row is named (``RowProblem``: line, column, reason), including rows that
        repeat another row or a subject the site already has (same name and home). The
        import is one ``subjects.imported`` audit event, and each subject its own
        ``subject.added`` as when registered one by one.
        """
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        now = utcnow()
        parsed = parse_import(data, now)
        if dry_run or parsed.problems:
            with self._store.reading() as session:
                site = site_by_code(session, site_code)
                _flag_registered(session, site.id, parsed)
            return _report(parsed, dry_run=dry_run, imported=0)
        with self._store.transaction() as session:
            site = site_by_code(session, site_code)
            _flag_registered(session, site.id, parsed)
            if parsed.problems:
                return _report(parsed, dry_run=False, imported=0)
            self._register(session, site.id, parsed.rows, now, actor)
        return _report(parsed, dry_run=False, imported=len(parsed.rows))

    def export_csv(self, site_code: str, *, actor: str) -> bytes:
        """Every current subject of the site (tombstones aside) as CSV (``write_export``);
        audited as one ``subjects.exported`` event with the count."""
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        with self._store.transaction() as session:
            site = site_by_code(session, site_code)
            infos = _records(session, site, *_conditions(site.id, ResidentQuery()))
            self._store.audit(
                session,
                actor,
                AuditAction.SUBJECTS_EXPORTED,
                site_id=site.id,
                detail={"rows": len(infos)},
            )
        return write_export(infos)

    def _register(
        self, session: Session, site_id: str, rows: list[ImportRow], now: datetime, actor: str
    ) -> None:
        taken = set(
            session.scalars(select(Subject.resident_number).where(Subject.site_id == site_id))
        )
        # Through the store (marks the transaction as appending), then the rest in one batch.
        self._store.audit(
            session,
            actor,
            AuditAction.SUBJECTS_IMPORTED,
            site_id=site_id,
            detail={"rows": len(rows)},
        )
        subjects = [
            {
                "id": new_id(),
                "site_id": site_id,
                "resident_number": _free_number(taken),
                "display_name": row.name,
                "kind": row.kind,
                "status": SubjectStatus.ACTIVE,
                "created_at": now,
                "minor_until": row.minor_until,
                "expires_at": row.expires_at,
                "building": row.home.building,
                "unit": row.home.unit,
                "household": row.home.household,
            }
            for row in rows
        ]
        session.execute(insert(Subject), subjects)
        append_events(
            session,
            self._store.site_key,
            [
                NewEvent(
                    actor,
                    AuditAction.SUBJECT_ADDED,
                    site_id=site_id,
                    subject_id=str(subject["id"]),
                    detail={"kind": row.kind.value, "minor": row.minor_until is not None},
                )
                for subject, row in zip(subjects, rows, strict=True)
            ],
        )


def _free_number(taken: set[str | None]) -> str:
    while True:
        number = new_resident_number()
        if number not in taken:
            taken.add(number)
            return number


def _flag_registered(session: Session, site_id: str, parsed: ParsedImport) -> None:
    """Add a problem for each row naming a subject the site already has (name and home)."""
    if not parsed.rows:
        return
    existing = {
        identity(name or "", Home(building, unit, household))
        for name, building, unit, household in session.execute(
            select(Subject.display_name, Subject.building, Subject.unit, Subject.household).where(
                Subject.site_id == site_id, Subject.status == SubjectStatus.ACTIVE
            )
        )
    }
    for row in parsed.rows:
        if row.key in existing:
            parsed.add(RowProblem(row.line, None, Reason.ALREADY_REGISTERED))
    parsed.problems.sort(key=lambda p: p.line)


def _report(parsed: ParsedImport, *, dry_run: bool, imported: int) -> ImportReport:
    return ImportReport(
        dry_run=dry_run, rows=parsed.row_count, imported=imported, problems=parsed.problems
    )


def _like(text: str) -> str:
    return text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")


def _conditions(site_id: str, query: ResidentQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Subject.site_id == site_id,
        Subject.status == SubjectStatus.ACTIVE,
    ]
    text = query.text.strip() if query.text else ""
    if text:
        pattern = _like(text[:MAX_QUERY_LENGTH])
        conditions.append(
            or_(
                Subject.display_name.like(f"%{pattern}%", escape=_LIKE_ESCAPE),
                Subject.resident_number.like(f"{pattern}%", escape=_LIKE_ESCAPE),
                Subject.household.like(f"{pattern}%", escape=_LIKE_ESCAPE),
            )
        )
    building = check_label(query.building, "building", BUILDING_LENGTH)
    if building is not None:
        conditions.append(Subject.building == building)
    unit = check_label(query.unit, "unit", UNIT_LENGTH)
    if unit is not None:
        conditions.append(Subject.unit == unit)
    if query.kind is not None:
        conditions.append(Subject.kind == query.kind)
    today = utcnow().date()
    if query.status is ResidentFilter.ACTIVE:
        conditions.append(Subject.moved_out_at.is_(None))
    elif query.status is ResidentFilter.MOVED_OUT:
        conditions.append(Subject.moved_out_at.is_not(None))
    elif query.status is ResidentFilter.CHILD:
        conditions.append(and_(Subject.minor_until.is_not(None), Subject.minor_until > today))
    return conditions


def _ordered(statement: Select[str]) -> Select[str]:
    # Exactly the expressions of the index ``ix_subject_list_order``: no sort at any page.
    return statement.order_by(*SUBJECT_LIST_ORDER)


def _records(session: Session, site: Site, *conditions: ColumnElement[bool]) -> list[SubjectInfo]:
    """The subjects matching ``conditions`` as records, in the list's order: one query."""
    now = utcnow()
    active_consent = (
        select(Consent.id).where(Consent.subject_id == Subject.id, usable_consent(now)).exists()
    )
    template_count = (
        select(func.count(Template.id)).where(Template.subject_id == Subject.id).scalar_subquery()
    )
    rows = session.execute(
        select(Subject, active_consent, template_count)
        .where(*conditions)
        .order_by(*SUBJECT_LIST_ORDER)
    )
    today = now.date()
    return [
        subject_info(subject, site.code, bool(consent), int(count), today)
        for subject, consent, count in rows
    ]


def _infos(session: Session, site: Site, ids: list[str]) -> list[SubjectInfo]:
    """The subjects ``ids`` (one page, already in the list's order) as records."""
    return _records(session, site, Subject.id.in_(ids)) if ids else []


def subject_info(
    subject: Subject, site_code: str, consent: bool, count: int, today: date
) -> SubjectInfo:
    """The record of one subject row, with its consent state and template count."""
    return SubjectInfo(
        id=subject.id,
        site_code=site_code,
        display_name=subject.display_name,
        kind=subject.kind,
        status=subject.status,
        created_at=subject.created_at,
        deleted_at=subject.deleted_at,
        has_active_consent=consent,
        template_count=count,
        minor=subject.minor_until is not None and today < subject.minor_until,
        moved_out_at=subject.moved_out_at,
        expires_at=subject.expires_at,
        resident_number=subject.resident_number,
        building=subject.building,
        unit=subject.unit,
        household=subject.household,
        minor_until=subject.minor_until,
    )
