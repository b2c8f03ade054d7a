"""``retention``, ``backup``, ``snapshot`` and ``subject move-out``: how long data lives, and
how deletion reaches copies (R-21, R-23, R-24, R-25)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from facegate.cli.context import get, progress_bar
from facegate.cli.people import subject_app
from facegate.errors import AlreadyExistsError
from facegate.fixtures import encode_png
from facegate.store.backups import restore

retention_app = typer.Typer(
    help="Purges after move-out, expiry of visits, consents and kept frames (R-24).",
    no_args_is_help=True,
)
backup_app = typer.Typer(
    help="Backups of the database. Never of the key store: deletion must reach them (R-23).",
    no_args_is_help=True,
)
snapshot_app = typer.Typer(
    help="Kept frames of disputed entries, bystanders blurred (R-21, R-25).", no_args_is_help=True
)

SiteOption = Annotated[str, typer.Option("--site", help="Site (community) code.")]
WHEN_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]


@retention_app.command("run")
def retention_run(ctx: typer.Context) -> None:
    """Erase everything whose retention has ended, each with a receipt. Safe to repeat."""
    context = get(ctx)
    with context.store() as store, progress_bar(context) as progress:
        task = progress.add_task("erasing", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = store.retention.run(actor=context.actor, on_progress=advance)
    context.emit(
        {"retention": report},
        f"retention run: {report.residents_purged} moved-out resident(s), "
        f"{report.visitors_expired} visitor(s) and temporary resident(s), "
        f"{report.consents_expired} ended consent(s), {report.snapshots_expired} kept "
        f"frame(s) erased; {len(report.receipts)} receipt(s)",
    )


@retention_app.command("policy")
def retention_policy(
    ctx: typer.Context,
    site: SiteOption = "demo",
    resident_days: Annotated[
        int | None, typer.Option(help="Days after move-out before a resident is purged.")
    ] = None,
    snapshot_days: Annotated[int | None, typer.Option(help="Days a kept frame lives.")] = None,
    keep_disputed_frames: Annotated[
        bool | None,
        typer.Option(
            "--keep-disputed-frames/--no-keep-disputed-frames",
            help="Keep redacted frames of disputed entries (the notice must say so).",
        ),
    ] = None,
) -> None:
    """Show the site's retention policy, or change it with the options."""
    context = get(ctx)
    with context.store() as store:
        if resident_days is None and snapshot_days is None and keep_disputed_frames is None:
            policy = store.retention.policy(site)
        else:
            policy = store.retention.set_policy(
                site,
                resident_retention_days=resident_days,
                snapshot_retention_days=snapshot_days,
                keep_disputed_frames=keep_disputed_frames,
                actor=context.actor,
            )
    context.emit(
        {"policy": policy},
        f"{escape(policy.site_code)}: residents purged {policy.resident_retention_days} day(s) "
        f"after move-out; kept frames {'on' if policy.keep_disputed_frames else 'off'}, "
        f"{policy.snapshot_retention_days} day(s)",
    )


def subject_move_out(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="Subject id (a resident).")],
    when: Annotated[
        datetime | None,
        typer.Option(formats=WHEN_FORMATS, help="When they move out, UTC (default: now)."),
    ] = None,
) -> None:
    """Record a move-out: face entry stops then; the data is purged after the site's period."""
    context = get(ctx)
    at = None if when is None else when.replace(tzinfo=UTC)
    with context.store() as store:
        moved_out_at = store.retention.record_move_out(subject_id, at, actor=context.actor)
        days = store.retention.policy(store.get_subject(subject_id).site_code)
    context.emit(
        {"subject_id": subject_id, "moved_out_at": moved_out_at, "policy": days},
        f"{subject_id} moves out at {moved_out_at:%Y-%m-%d %H:%M} UTC; their data is purged "
        f"{days.resident_retention_days} day(s) later",
    )


@backup_app.command("create")
def backup_create(ctx: typer.Context) -> None:
    """Write a consistent copy of the database to DATA_DIR/backups (mode 0600)."""
    context = get(ctx)
    with context.store() as store:
        info = store.backups.create(actor=context.actor)
    context.emit({"backup": info}, f"backup {escape(str(info.path))} ({info.size_bytes} bytes)")


@backup_app.command("list")
def backup_list(ctx: typer.Context) -> None:
    """List the backups in DATA_DIR/backups, oldest first."""
    context = get(ctx)
    with context.store() as store:
        backups = store.backups.list()
    if context.as_json:
        context.emit({"backups": backups}, "")
        return
    table = Table("name", "created (UTC)", "bytes")
    for info in backups:
        table.add_row(info.name, f"{info.created_at:%Y-%m-%d %H:%M:%S}", str(info.size_bytes))
    context.console.print(table)


@backup_app.command("restore")
def backup_restore(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The backup file.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the database with a backup; stop every facegate process first.

    Erasures and revocations made after the backup was taken are replayed, so nobody
    deleted comes back and no revoked card, PIN, code, device key or password works again;
    everyone is signed out. What was issued since (cards, PINs, devices) must be reissued.
    """
    context = get(ctx)
    if not yes and not typer.confirm(f"Replace the database in {context.settings.data_dir}?"):
        raise typer.Exit(1)
    report = restore(context.settings, path, actor=context.actor)
    revoked = report.revocations
    context.emit(
        {"restore": report},
        f"restored {escape(path.name)} (revision {report.revision}); replayed "
        f"{report.subjects_erased} deletion(s) and {report.consents_withdrawn} withdrawal(s) "
        f"made after it, {len(report.receipts)} receipt(s)\n"
        f"carried forward: {revoked.credentials_revoked} credential(s) revoked, "
        f"{revoked.codes_spent} one-time code(s) spent, {revoked.devices_revoked} device "
        f"key(s) revoked, {revoked.admin_passwords_restored} admin password(s) changed, "
        f"{revoked.moves_out} move-out(s); signed out {revoked.sessions_ended} session(s), "
        f"spent {revoked.signin_codes_spent} sign-in code(s)",
    )


@snapshot_app.command("list")
def snapshot_list(ctx: typer.Context, site: SiteOption = "demo") -> None:
    """List a site's kept frames (metadata only)."""
    context = get(ctx)
    with context.store() as store:
        snapshots = store.snapshots.list(site)
    if context.as_json:
        context.emit({"snapshots": snapshots}, "")
        return
    table = Table("id", "taken (UTC)", "expires (UTC)", "subject", "gate", "blurred")
    for s in snapshots:
        table.add_row(
            s.id,
            f"{s.taken_at:%Y-%m-%d %H:%M}",
            f"{s.expires_at:%Y-%m-%d %H:%M}",
            s.subject_id or "—",
            s.gate_code or "—",
            str(s.bystanders_redacted),
        )
    context.console.print(table)


@snapshot_app.command("show")
def snapshot_show(
    ctx: typer.Context,
    snapshot_id: Annotated[str, typer.Argument(help="Kept frame id.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Write the (redacted) frame as PNG here, mode 0600; audited."),
    ] = None,
) -> None:
    """Show a kept frame's record; with --out, also write the frame itself."""
    context = get(ctx)
    if out is not None and out.exists():
        raise AlreadyExistsError(f"{out} exists; choose a new file", reason="file_exists")
    with context.store() as store:
        info = store.snapshots.get(snapshot_id)
        if out is not None:
            image = store.snapshots.read(snapshot_id, actor=context.actor)
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(encode_png(image))
    context.emit(
        {"snapshot": info, "written_to": None if out is None else str(out)},
        f"kept frame {info.id}: taken {info.taken_at:%Y-%m-%d %H:%M} UTC, expires "
        f"{info.expires_at:%Y-%m-%d %H:%M} UTC, {info.bystanders_redacted} bystander(s) blurred"
        + ("" if out is None else f"; written to {escape(str(out))}"),
    )


@snapshot_app.command("delete")
def snapshot_delete(
    ctx: typer.Context, snapshot_id: Annotated[str, typer.Argument(help="Kept frame id.")]
) -> None:
    """Erase a kept frame now: its row, its file and its key."""
    context = get(ctx)
    with context.store() as store:
        receipt = store.snapshots.delete(snapshot_id, actor=context.actor)
    context.emit({"receipt": receipt}, f"kept frame {snapshot_id} erased")


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
    app.add_typer(backup_app, name="backup")
    app.add_typer(snapshot_app, name="snapshot")
    subject_app.command("move-out")(subject_move_out)
