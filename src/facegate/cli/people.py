"""``init``, ``subject``, ``consent`` and ``audit`` commands: the records, never face data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from facegate.cli.context import get
from facegate.store.records import ConsentMethod, SubjectKind

subject_app = typer.Typer(
    help="Add, list and delete subjects (residents, visitors).", no_args_is_help=True
)
consent_app = typer.Typer(help="Record consent to face processing.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

SiteOption = Annotated[str, typer.Option("--site", help="Site (community) code.")]


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
    context.emit(
        {"site": info, "data_dir": str(context.settings.data_dir), "created": site not in existing},
        f"site [bold]{escape(info.code)}[/] ready in {escape(str(context.settings.data_dir))}",
    )


@subject_app.command("add")
def subject_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Display name (no ID number or phone: R-12).")],
    site: SiteOption = "demo",
    kind: Annotated[SubjectKind, typer.Option(help="resident or visitor.")] = SubjectKind.RESIDENT,
) -> None:
    """Register a subject. Face processing needs a recorded consent first."""
    context = get(ctx)
    with context.store() as store:
        info = store.add_subject(site, name, kind, actor=context.actor)
    context.emit({"subject": info}, f"subject [bold]{info.id}[/] added to {escape(site)}")


@subject_app.command("list")
def subject_list(ctx: typer.Context, site: SiteOption = "demo") -> None:
    """List a site's subjects with consent status and template count (never templates)."""
    context = get(ctx)
    with context.store() as store:
        subjects = store.list_subjects(site)
    table = Table("name", "kind", "status", "consent", "templates")
    table.add_column("id", no_wrap=True)
    for s in subjects:
        table.add_row(
            Text(s.display_name or "—"),
            s.kind.value,
            s.status.value,
            "yes" if s.has_active_consent else "no",
            str(s.template_count),
            s.id,
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
        str, typer.Option(help="Why: request, withdrawal, move-out, expiry.")
    ] = "request",
) -> None:
    """Delete a subject: destroys its data key and templates in one transaction."""
    context = get(ctx)
    with context.store() as store:
        receipt = store.delete_subject(subject_id, reason, context.actor)
    context.emit(
        {"receipt": receipt},
        f"deleted {receipt.subject_id}: {receipt.templates_deleted} template(s), "
        f"key destroyed: {receipt.key_destroyed}, audit event {receipt.audit_event_id}",
    )


@consent_app.command("record")
def consent_record(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="Subject id.")],
    notice_version: Annotated[str, typer.Option(help="Version of the processing notice shown.")],
    given_by: Annotated[str, typer.Option(help="Who consented (the subject or a guardian).")],
    method: Annotated[
        ConsentMethod, typer.Option(help="How it was given.")
    ] = ConsentMethod.E_SIGNATURE,
) -> None:
    """Record a separate, explicit consent to face processing."""
    context = get(ctx)
    with context.store() as store:
        info = store.record_consent(
            subject_id, notice_version, method, given_by, actor=context.actor
        )
    context.emit({"consent": info}, f"consent [bold]{info.id}[/] recorded for {info.subject_id}")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the audit log's hash chain; exit 8 if any row was edited or removed."""
    context = get(ctx)
    with context.store() as store:
        report = store.verify_audit()
    if report.ok:
        context.emit({"audit": report}, f"audit chain intact: {report.events_checked} events")
        return
    context.emit(
        {"audit": report},
        f"[bold red]audit chain broken[/] at event {report.first_bad_event_id}: "
        + escape(report.reason or ""),
    )
    raise typer.Exit(8)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.add_typer(subject_app, name="subject")
    app.add_typer(consent_app, name="consent")
    app.add_typer(audit_app, name="audit")
