"""Admin: the access log a manager reads (names, filters, paging) and its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from facegate.api.deps import StoreDep
from facegate.api.i18n import LANGUAGE_COOKIE, LANGUAGE_QUERY, choose_language, strings
from facegate.api.routes.admin_scope import SiteReader, actor_of
from facegate.api.schemas.decisions import DecisionPageOut, LoggedDecisionOut
from facegate.errors import InvalidRecordError
from facegate.store.csv_cells import safe_cell
from facegate.store.decision_log import (
    MAX_PAGE,
    MAX_SEARCH,
    DecisionFilter,
    LoggedDecision,
    PersonState,
    decision_page,
    decision_rows,
    record_export,
)

router = APIRouter(prefix="/api/v1/sites/{site}", tags=["admin: access log"])

#: The page size when none is asked for.
DEFAULT_PAGE = 50
#: A CSV export covers at most this long a range.
MAX_EXPORT_RANGE = timedelta(days=366)
#: Minutes east of UTC a CSV's times may be written in (UTC-14 … UTC+14).
MAX_TZ_MINUTES = 14 * 60
#: Byte order mark: spreadsheet programs then read the file as UTF-8 (Chinese names).
BOM = "\ufeff"

Since = Annotated[datetime | None, Query(alias="from", description="inclusive, ISO 8601")]
Until = Annotated[datetime | None, Query(alias="to", description="exclusive, ISO 8601")]
Gate = Annotated[str | None, Query(max_length=64)]
Outcome = Annotated[str | None, Query(max_length=32, description="open, deny, try_another")]
Kind = Annotated[str | None, Query(max_length=32, description="face, card, pin, otp, remote")]
Person = Annotated[
    str | None, Query(max_length=MAX_SEARCH, description="part of a name, or a resident number")
]


def _utc(moment: datetime | None) -> datetime | None:
    """The moment in UTC (a naive time is taken as UTC); one that has no UTC time (year 1
    at +05:00) is refused, not a 500."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidRecordError("that time is out of range", reason="log_range") from None


def _filter(
    since: datetime | None,
    until: datetime | None,
    gate: str | None,
    outcome: str | None,
    kind: str | None,
    person: str | None,
) -> DecisionFilter:
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and until <= since:
        raise InvalidRecordError("the range ends before it starts", reason="log_range")
    return DecisionFilter(since, until, gate or None, outcome or None, kind or None, person)


@router.get("/decisions/log", response_model=DecisionPageOut)
def decision_log(
    site: str,
    store: StoreDep,
    _: SiteReader,
    since: Since = None,
    until: Until = None,
    gate: Gate = None,
    outcome: Outcome = None,
    kind: Kind = None,
    person: Person = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> DecisionPageOut:
    """Role: the site's auditor or administrator. The access log, newest first: gate,
    device and person by name, the credential kind, outcome and reason code; never a
    score. Filters combine; ``total`` counts every match."""
    where = _filter(since, until, gate, outcome, kind, person)
    page = decision_page(store, site, where, offset, limit)
    return DecisionPageOut(
        items=[LoggedDecisionOut.of(row) for row in page.rows],
        total=page.total,
        offset=offset,
        limit=limit,
    )


@router.get(
    "/decisions.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_decisions(
    site: str,
    request: Request,
    store: StoreDep,
    reader: SiteReader,
    since: Annotated[datetime, Query(alias="from", description="inclusive, ISO 8601")],
    until: Annotated[datetime, Query(alias="to", description="exclusive, ISO 8601")],
    gate: Gate = None,
    outcome: Outcome = None,
    kind: Kind = None,
    person: Person = None,
    tz: Annotated[
        int, Query(ge=-MAX_TZ_MINUTES, le=MAX_TZ_MINUTES, description="minutes east of UTC")
    ] = 0,
) -> Response:
    """Role: the site's auditor or administrator. The access log for a date range as CSV
    (UTF-8 with a byte order mark, in the page's language), oldest first; audited as an
    export. Never a score."""
    where = _filter(since, until, gate, outcome, kind, person)
    if where.since is None or where.until is None or where.until - where.since > MAX_EXPORT_RANGE:
        raise InvalidRecordError("export at most a year at a time", reason="log_range_long")
    rows = decision_rows(store, site, where)
    record_export(store, site, actor_of(reader), where, len(rows))
    language = choose_language(
        request.query_params.get(LANGUAGE_QUERY), request.cookies.get(LANGUAGE_COOKIE)
    )
    body = render_csv(rows, strings(language), timezone(timedelta(minutes=tz)))
    name = f"decisions-{site}-{where.since:%Y%m%d}-{where.until:%Y%m%d}.csv"
    return Response(
        BOM + body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def render_csv(rows: list[LoggedDecision], words: dict[str, str], zone: tzinfo) -> str:
    """The log's rows in the manager's words: the same wording as the console's table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            f"{words['log_col_time']} ({datetime.now(zone):%z})",
            words["log_col_gate"],
            words["log_col_device"],
            words["log_col_person"],
            words["log_col_kind"],
            words["log_col_outcome"],
            words["log_col_reason"],
            words["log_col_why"],
        ]
    )
    for row in rows:
        writer.writerow(
            [
                row.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                safe_cell(row.gate_name or row.gate),
                safe_cell(
                    row.device_name or (words["log_console"] if row.kind == "remote" else None)
                ),
                safe_cell(person_words(row, words)),
                _word(words, "log_kind_", row.kind),
                _word(words, "log_outcome_", row.outcome),
                reason_words(row, words),
                _word(words, "log_why_", row.why),
            ]
        )
    return out.getvalue()


def person_words(row: LoggedDecision, words: dict[str, str]) -> str:
    if row.person_state is PersonState.KNOWN and row.person:
        return row.person
    if row.person_state is PersonState.VISITOR:
        return words["log_person_visitor"].replace("{name}", row.person or "")
    if row.person_state is PersonState.STAFF:
        return words["log_person_staff"] + (f" {row.person}" if row.person else "")
    return words[f"log_person_{row.person_state.value}"]


def reason_words(row: LoggedDecision, words: dict[str, str]) -> str:
    text = _word(words, "log_reason_", row.reason)
    if row.check:
        text += " · " + _word(words, "log_check_", row.check)
    return text


def _word(words: dict[str, str], prefix: str, code: str | None) -> str:
    """The manager's word for ``code``; a code with no word yet reads as itself."""
    if not code:
        return ""
    return words.get(prefix + code, code)
