"""``assessment``, ``subject export``, ``incident`` and ``filing``: the operator's accounts.

Impact assessments (R-30), the CAC filing threshold (R-31), subject access exports (R-32)
and incident records (R-28).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from facegate.cli import people
from facegate.cli.context import get
from facegate.errors import InvalidRecordError

assessment_app = typer.Typer(
    help="Personal-information impact assessments (needed before enrollment).",
    no_args_is_help=True,
)
incident_app = typer.Typer(help="Detected leak, tamper or loss.", no_args_is_help=True)
filing_app = typer.Typer(help="The CAC filing threshold (100,000 people).", no_args_is_help=True)

SiteOption = Annotated[str, typer.Option("--site", help="Site (community) code.")]
#: An export holds personal information: readable by its owner only.
EXPORT_FILE_MODE = 0o600
_HASH_CHUNK = 1 << 20


@assessment_app.command("record")
def assessment_record(
    ctx: typer.Context,
    assessor: Annotated[str, typer.Option(help="Who made the assessment.")],
    summary: Annotated[str, typer.Option(help="Its conclusions, in a few sentences.")],
    site: SiteOption = "demo",
    assessed_at: Annotated[
        str | None,
        typer.Option(help="When: YYYY-MM-DD (UTC) or an ISO time with offset; default now."),
    ] = None,
    document: Annotated[
        Path | None,
        typer.Option(help="The full assessment document; only its SHA-256 is recorded."),
    ] = None,
) -> None:
    """Record an impact assessment for a site; it is kept at least three years."""
    context = get(ctx)
    when = None if assessed_at is None else _parse_time(assessed_at, "--assessed-at")
    digest = None if document is None else _sha256_file(document)
    with context.store() as store:
        info = store.assessments.record(
            site,
            assessor,
            summary,
            assessed_at=when,
            document_sha256=digest,
            actor=context.actor,
        )
    context.emit(
        {"assessment": info},
        f"assessment [bold]{info.id}[/] recorded for {escape(site)}, "
        f"kept until {info.retain_until.date().isoformat()}",
    )


@assessment_app.command("list")
def assessment_list(ctx: typer.Context, site: SiteOption = "demo") -> None:
    """List a site's impact assessments, oldest first."""
    context = get(ctx)
    with context.store() as store:
        infos = store.assessments.list(site)
    if context.as_json:
        context.emit({"assessments": infos}, "")
        return
    table = Table("assessed", "assessor", "kept until", "summary")
    table.add_column("id", no_wrap=True)
    for info in infos:
        table.add_row(
            info.assessed_at.date().isoformat(),
            Text(info.assessor),
            info.retain_until.date().isoformat(),
            Text(info.summary),
            info.id,
        )
    context.console.print(table)


def subject_export(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="Subject id.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the export to this file (mode 0600), not stdout."),
    ] = None,
) -> None:
    """Export what is held about a subject as JSON (never templates, keys or hashes)."""
    context = get(ctx)
    with context.store() as store:
        export = store.exports.subject_export(subject_id, context.actor)
    text = json.dumps(export, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    write_private(out, text)
    context.emit(
        {"subject_id": subject_id, "out": out},
        f"export of {subject_id} written to {escape(str(out))}",
    )


@incident_app.command("list")
def incident_list(
    ctx: typer.Context,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Include resolved incidents.")
    ] = False,
) -> None:
    """List incidents (open ones unless --all), oldest first."""
    context = get(ctx)
    with context.store() as store:
        infos = store.incidents.list(open_only=not include_resolved)
    if context.as_json:
        context.emit({"incidents": infos}, "")
        return
    if not infos:
        context.console.print("no incidents")
        return
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    for column in ("detected", "site", "resolved", "detail"):
        table.add_column(column)
    for info in infos:
        table.add_row(
            info.id,
            info.kind.value,
            info.detected_at.isoformat(timespec="seconds"),
            Text(info.site_code or "—"),
            "—" if info.resolved_at is None else info.resolved_at.isoformat(timespec="seconds"),
            Text(info.detail),
        )
    context.console.print(table)


@incident_app.command("resolve")
def incident_resolve(
    ctx: typer.Context, incident_id: Annotated[str, typer.Argument(help="Incident id.")]
) -> None:
    """Mark an incident handled (the audit log records who did)."""
    context = get(ctx)
    with context.store() as store:
        info = store.incidents.resolve(incident_id, context.actor)
    context.emit({"incident": info}, f"incident [bold]{info.id}[/] resolved")


@filing_app.command("status")
def filing_status(ctx: typer.Context, site: SiteOption = "demo") -> None:
    """How many people the site's operator has enrolled, and whether filing is due."""
    context = get(ctx)
    with context.store() as store:
        status = store.filing.status(site)
    due = (
        f"filing with the provincial CAC due by {status.due_by.isoformat()}"
        if status.due_by is not None
        else "filing not due"
    )
    context.emit(
        {"filing": status, "filing_due": status.filing_due},
        f"{escape(status.operator)}: {status.enrolled_people} of {status.threshold} people; " + due,
    )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, even if the file existed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, EXPORT_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), EXPORT_FILE_MODE)
        handle.write(text)


def _parse_time(value: str, option: str) -> datetime:
    try:
        if len(value) == len("YYYY-MM-DD"):
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRecordError(
            f"{option} {value!r} is not a date or ISO time", reason="not_a_time"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidRecordError(
            f"{option} {value!r} needs a UTC offset (e.g. +08:00)", reason="time_without_zone"
        )
    return parsed


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def register(app: typer.Typer) -> None:
    app.add_typer(assessment_app, name="assessment")
    app.add_typer(incident_app, name="incident")
    app.add_typer(filing_app, name="filing")
    people.subject_app.command("export")(subject_export)
