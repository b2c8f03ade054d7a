"""``init``, ``subject`` and ``audit`` commands: the records, never face data."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from facegate.cli.context import get
from facegate.core.config import PRIVATE_DIR_MODE
from facegate.store.records import DeletionReason, SubjectKind
from facegate.store.schema import ID_LENGTH

subject_app = typer.Typer(
    help="Add, list and delete subjects (residents, visitors).", no_args_is_help=True
)
audit_app = typer.Typer(
    help="The tamper-evident audit log, and the security audit of the models.",
    no_args_is_help=True,
)

SiteOption = Annotated[str, typer.Option("--site", help="Site (community) code.")]
#: A subject id is this many characters: `subject list` never cuts one.
SUBJECT_ID_WIDTH = ID_LENGTH


def init(
    ctx: typer.Context,
    site: SiteOption = "demo",
    name: Annotated[str, typer.Option(help="Site display name.")] = "Demo community",
) -> None:
    """Create the data directory, the site key (development only), the database and a site."""
    context = get(ctx)
    with context.store() as store:
        existing = {s.code: s for s in store.list_sites()}
        info = existing.get(site) or store.create_site(site, name, actor=context.actor)
    # A folder that existed before (e.g. made by hand at 0755) holds the keys and the
    # database: only this account may enter it.
    context.settings.data_dir.chmod(PRIVATE_DIR_MODE)
    context.emit(
        {"site": info, "data_dir": str(context.settings.data_dir), "created": site not in existing},
        f"site [bold]{escape(info.code)}[/] ready in {escape(str(context.settings.data_dir))}",
    )


@subject_app.command("add")
def subject_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Display name (no ID number or phone: R-12).")],
    site: SiteOption = "demo",
    kind: Annotated[
        SubjectKind, typer.Option(help="resident, visitor or temporary.")
    ] = SubjectKind.RESIDENT,
    born: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Date of birth, to tell a child under 14 (R-04); checked, not stored.",
        ),
    ] = None,
    adult: Annotated[
        bool, typer.Option("--adult", help="State the subject is 14 or older instead of --born.")
    ] = False,
    expires: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Visitors and temporary residents: last day."),
    ] = None,
) -> None:
    """Register a subject. Face processing needs a recorded consent first."""
    context = get(ctx)
    if (born is None) == (not adult):
        raise typer.BadParameter("give exactly one of --born YYYY-MM-DD or --adult")
    ends = None if expires is None else datetime.combine(expires.date(), time.max, tzinfo=UTC)
    with context.store() as store:
        info = store.add_subject(
            site,
            name,
            kind,
            date_of_birth=None if born is None else born.date(),
            expires_at=ends,
            actor=context.actor,
        )
    context.emit({"subject": info}, f"subject [bold]{info.id}[/] added to {escape(site)}")


@subject_app.command("list")
def subject_list(ctx: typer.Context, site: SiteOption = "demo") -> None:
    """List a site's subjects with consent status and template count (never templates)."""
    context = get(ctx)
    with context.store() as store:
        subjects = store.list_subjects(site)
    # Fits 80 columns whole: the id (32 characters, copied into other commands, so never
    # cut) goes under the name, which wraps; the short columns keep their full headers.
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, show_lines=True)
    table.add_column("name / id", overflow="fold", min_width=SUBJECT_ID_WIDTH)
    for header in ("kind", "status", "consent", "templates"):
        table.add_column(header, no_wrap=True)
    for s in subjects:
        who = Text(s.display_name or "—")
        who.append(f"\n{s.id}", style="dim")
        table.add_row(
            who,
            s.kind.value,
            s.status.value,
            "yes" if s.has_active_consent else "no",
            str(s.template_count),
        )
    if context.as_json:
        context.emit({"subjects": subjects}, "")
    else:
        context.console.print(table)


@subject_app.command("delete")
def subject_delete(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="Subject id.")],
    reason: Annotated[
        DeletionReason, typer.Option(help="Why the subject's data is erased.")
    ] = DeletionReason.REQUEST,
) -> None:
    """Erase a subject everywhere (R-23): templates, credentials, kept frames, name, and the
    data key (so copies in old backups cannot be decrypted). Prints the receipt."""
    context = get(ctx)
    with context.store() as store:
        receipt = store.delete_subject(subject_id, reason, context.actor)
    context.emit(
        {"receipt": receipt},
        f"deleted {receipt.subject_id} ({receipt.reason.value}) at "
        f"{receipt.deleted_at:%Y-%m-%d %H:%M:%S} UTC: {receipt.templates_deleted} template(s), "
        f"{receipt.credentials_deleted} credential(s), {receipt.snapshots_deleted} kept "
        f"frame(s), {receipt.keys_destroyed} key(s) destroyed; receipt {receipt.id}, "
        f"audit event {receipt.audit_event_id}",
    )


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the audit log's hash chain, its head's seal and the head receipt kept outside the
    database; exit 8 if any row was edited or removed."""
    context = get(ctx)
    with context.store() as store:
        report = store.verify_audit()
    if report.ok:
        note = "" if report.receipt_found else " (no head receipt was found: one is written now)"
        context.emit({"audit": report}, f"audit chain intact: {report.events_checked} events{note}")
        return
    where = report.first_bad_event_id
    context.emit(
        {"audit": report},
        "[bold red]audit chain broken[/]"
        + ("" if where is None else f" at event {where}")
        + ": "
        + escape(report.reason or ""),
    )
    raise typer.Exit(8)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.add_typer(subject_app, name="subject")
    app.add_typer(audit_app, name="audit")
