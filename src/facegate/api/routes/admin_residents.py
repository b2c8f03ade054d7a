"""Admin: the site's residents as a list to search and page, and as CSV (import, export).

Included by ``admin_subjects`` before its ``/subjects/{subject_id}`` routes, so that
``/subjects/search`` is not taken for a subject id.
"""

from __future__ import annotations

from datetime import date
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from facegate.api.deps import StoreDep
from facegate.api.errors import error_body
from facegate.api.idempotency import mark_dry_run
from facegate.api.routes.admin_scope import SiteAdmin, SiteDesk, actor_of
from facegate.api.schemas.residents import ImportReportOut, ResidentPageOut
from facegate.store.records import SubjectKind
from facegate.store.resident_csv import MAX_IMPORT_BYTES
from facegate.store.residents import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    ResidentFilter,
    ResidentQuery,
)
from facegate.store.schema import BUILDING_LENGTH, UNIT_LENGTH

#: No prefix of its own: it takes ``admin_subjects``'s (``/api/v1/sites/{site}``).
router = APIRouter(tags=["admin: residents"])

#: The error code of a real import refused for bad rows (the body lists them).
IMPORT_REFUSED = "import_refused"


@router.get("/subjects/search", response_model=ResidentPageOut)
def search_subjects(
    site: str,
    store: StoreDep,
    _: SiteDesk,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_LENGTH)] = None,
    building: Annotated[str | None, Query(max_length=BUILDING_LENGTH)] = None,
    unit: Annotated[str | None, Query(max_length=UNIT_LENGTH)] = None,
    status: ResidentFilter = ResidentFilter.ALL,
    kind: SubjectKind | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
) -> ResidentPageOut:
    """Role: front desk (or administrator). One page of the site's subjects, by building,
    unit, household and name; ``q`` matches part of a name, or the start of a resident
    number or household."""
    query = ResidentQuery(
        text=q,
        building=building,
        unit=unit,
        status=status,
        kind=kind,
        page=page,
        per_page=per_page,
    )
    return ResidentPageOut.of(store.residents.search(site, query))


@router.get("/subjects.csv")
def export_subjects(site: str, store: StoreDep, admin: SiteAdmin) -> Response:
    """Role: the site's administrator (a copy of every resident's record leaves the
    system). UTF-8 CSV with a byte-order mark, for Excel; audited."""
    data = store.residents.export_csv(site, actor=actor_of(admin))
    name = f"residents-{site}-{date.today().isoformat()}.csv"
    return Response(
        content=data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(
    "/subjects/import",
    response_model=ImportReportOut,
    responses={HTTPStatus.UNPROCESSABLE_ENTITY: {"description": "bad rows; nothing imported"}},
)
def import_subjects(
    site: str,
    request: Request,
    store: StoreDep,
    desk: SiteDesk,
    file: Annotated[UploadFile, File()],
    dry_run: bool = True,
) -> ImportReportOut | JSONResponse:
    """Role: front desk (or administrator). Checks a CSV of residents (header: name, kind,
    building, unit, household, born, expires) and, with ``dry_run=false`` and no bad row,
    registers them all in one transaction. A dry run answers the report; a real import
    with bad rows answers 422 ``import_refused`` listing every one, and imports nothing."""
    if dry_run:
        # A check (the default) changes nothing: no answer to keep for a retry.
        mark_dry_run(request)
    # One byte over the limit is enough to tell that the file is too large.
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    report = store.residents.import_csv(site, data, dry_run=dry_run, actor=actor_of(desk))
    out = ImportReportOut.of(report)
    if dry_run or report.ok:
        return out
    return JSONResponse(
        error_body(
            IMPORT_REFUSED,
            f"{len(report.problems)} problems in the file; nothing was imported",
            rows=report.rows,
            problems=[problem.model_dump() for problem in out.problems],
        ),
        status_code=HTTPStatus.UNPROCESSABLE_ENTITY,
    )
