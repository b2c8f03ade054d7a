"""``notice``, ``consent`` and ``guardian`` commands: the consent ledger (R-01 … R-07)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from facegate.api.i18n import notice_labels
from facegate.cli.context import get
from facegate.errors import InvalidRecordError
from facegate.privacy.notice_template import starter_notice
from facegate.store.notices import NoticeContent, NoticeInfo
from facegate.store.records import ConsentMethod, GuardianRelation

notice_app = typer.Typer(help="Publish and read processing notices.", no_args_is_help=True)
consent_app = typer.Typer(
    help="Record and withdraw consent to face processing.", no_args_is_help=True
)
guardian_app = typer.Typer(help="Guardians of children under 14.", no_args_is_help=True)

SiteOption = Annotated[str, typer.Option("--site", help="Site (community) code.")]
#: A notice file larger than this is not a notice.
MAX_NOTICE_BYTES = 256 * 1024
NOTICE_TEXT_FIELDS = (
    "purpose",
    "method",
    "scope",
    "retention",
    "storage_location",
    "processor",
    "contact",
    "withdrawal",
)


@notice_app.command("publish")
def notice_publish(
    ctx: typer.Context,
    version: Annotated[str, typer.Option(help="Version name, e.g. 2026-1.")],
    site: SiteOption = "demo",
    file: Annotated[
        Path | None, typer.Option(help="Notice content as JSON (see `notice show --json`).")
    ] = None,
    starter: Annotated[
        bool, typer.Option("--starter", help="Publish facegate's starter notice instead.")
    ] = False,
    operator: Annotated[str, typer.Option(help="With --starter: who processes.")] = "",
    contact: Annotated[str, typer.Option(help="With --starter: contact.")] = "",
) -> None:
    """Publish a new notice version. A wider one asks everyone to consent again (R-06)."""
    context = get(ctx)
    if (file is None) == (not starter):
        raise typer.BadParameter("give exactly one of --file or --starter")
    with context.store() as store:
        if file is not None:
            content = _read_notice(file)
        else:
            content = starter_notice(store.get_site(site).name, operator, contact)
        publication = store.notices.publish(site, version, content, actor=context.actor)
    notice = publication.notice
    context.emit(
        {
            "notice": _notice_json(notice),
            "consents_needing_renewal": publication.consents_needing_renewal,
        },
        f"notice [bold]{escape(notice.version)}[/] published for {escape(site)}"
        + (
            f"; it widens processing: {publication.consents_needing_renewal} consent(s) "
            "now need renewal"
            if notice.widens
            else ""
        ),
    )


@notice_app.command("show")
def notice_show(
    ctx: typer.Context,
    site: SiteOption = "demo",
    version: Annotated[str | None, typer.Option(help="Default: the one in force.")] = None,
    lang: Annotated[str, typer.Option(help="zh or en.")] = "zh",
) -> None:
    """Show a notice, as residents read it."""
    context = get(ctx)
    with context.store() as store:
        notice = (
            store.notices.current(site) if version is None else store.notices.get(site, version)
        )
    if context.as_json:
        context.emit({"notice": _notice_json(notice)}, "")
        return
    text = {k.value: v for k, v in notice.content.texts.items()}.get(lang)
    if text is None:
        raise typer.BadParameter(f"no text in {lang!r}; use zh or en")
    # The whole notice, wrapped: residents are owed every word of it, and Chinese
    # has no spaces to wrap at, so a cell folds rather than ending in "…".
    table = Table(title=f"{site} notice {notice.version}", show_header=False, show_lines=True)
    table.add_column("field", no_wrap=True)
    table.add_column("text", overflow="fold")
    # Labelled in the notice's own language, as the pages label it.
    labels = dict(notice_labels().get(lang, []))
    for field in NOTICE_TEXT_FIELDS:
        table.add_row(labels.get(field, field), Text(getattr(text, field)))
    context.console.print(table)


@notice_app.command("list")
def notice_list(ctx: typer.Context, site: SiteOption = "demo") -> None:
    """Every published version, oldest first."""
    context = get(ctx)
    with context.store() as store:
        notices = store.notices.list(site)
    if context.as_json:
        context.emit({"notices": [_notice_json(n) for n in notices]}, "")
        return
    table = Table("version", "published", "by", "widens", "sha256")
    for n in notices:
        table.add_row(
            Text(n.version),
            n.published_at.isoformat(timespec="seconds"),
            Text(n.published_by),
            "yes" if n.widens else "no",
            n.content_sha256[:16],
        )
    context.console.print(table)


@consent_app.command("record")
def consent_record(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="Subject id.")],
    evidence: Annotated[
        str, typer.Option(help="Reference of the signed form or e-signature transaction.")
    ],
    notice_version: Annotated[
        str | None, typer.Option(help="Notice shown (default: the one in force).")
    ] = None,
    method: Annotated[
        ConsentMethod, typer.Option(help="How it was given.")
    ] = ConsentMethod.E_SIGNATURE,
    guardian: Annotated[str | None, typer.Option(help="Guardian id, for a child under 14.")] = None,
    site: SiteOption = "demo",
) -> None:
    """Record a separate, explicit consent to face processing (R-02, R-03)."""
    context = get(ctx)
    with context.store() as store:
        version = notice_version or store.notices.current(site).version
        info = store.consents.record(
            subject_id, version, method, evidence, guardian_id=guardian, actor=context.actor
        )
    context.emit(
        {"consent": info},
        f"consent [bold]{info.id}[/] recorded for {info.subject_id} under notice "
        f"{escape(info.notice_version)}, ends {info.expires_at:%Y-%m-%d}",
    )


@consent_app.command("withdraw")
def consent_withdraw(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="Subject id.")],
    guardian: Annotated[
        str | None, typer.Option(help="Guardian id, when a guardian withdraws for a child.")
    ] = None,
) -> None:
    """Withdraw every consent of a subject: face recognition stops and the face data is
    erased at once (R-05). Cards, PINs and codes keep working."""
    context = get(ctx)
    with context.store() as store:
        withdrawal = store.consents.withdraw_all(
            subject_id, actor=context.actor, guardian_id=guardian
        )
    receipt = withdrawal.receipt
    context.emit(
        {"withdrawn": list(withdrawal.consent_ids), "receipt": receipt},
        "nothing to withdraw"
        if receipt is None
        else f"withdrew {len(withdrawal.consent_ids)} consent(s); erased "
        f"{receipt.templates_deleted} template(s), receipt {receipt.id}",
    )


@consent_app.command("list")
def consent_list(
    ctx: typer.Context, subject_id: Annotated[str, typer.Argument(help="Subject id.")]
) -> None:
    """A subject's consents, withdrawn ones included."""
    context = get(ctx)
    with context.store() as store:
        consents = store.consents.list(subject_id)
    if context.as_json:
        context.emit({"consents": consents}, "")
        return
    now = datetime.now().astimezone()
    table = Table("id", "notice", "given", "ends", "method", "state")
    for c in consents:
        state = (
            "withdrawn"
            if c.withdrawn_at
            else "needs renewal"
            if c.renewal_required_at
            else "in force"
            if c.usable(now)
            else "ended"
        )
        table.add_row(
            c.id,
            Text(c.notice_version),
            f"{c.given_at:%Y-%m-%d}",
            f"{c.expires_at:%Y-%m-%d}" if c.expires_at else "—",
            c.method.value,
            state,
        )
    context.console.print(table)


@guardian_app.command("add")
def guardian_add(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="The child's subject id.")],
    name: Annotated[str, typer.Option(help="Guardian's name.")],
    born: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="Guardian's date of birth (checked).")
    ],
    relation: Annotated[GuardianRelation, typer.Option()] = GuardianRelation.PARENT,
) -> None:
    """Record the guardian of a child under 14 (R-04)."""
    context = get(ctx)
    with context.store() as store:
        info = store.consents.add_guardian(
            subject_id, name, relation, born.date(), actor=context.actor
        )
    context.emit({"guardian": info}, f"guardian [bold]{info.id}[/] recorded for {subject_id}")


def _read_notice(path: Path) -> NoticeContent:
    if path.stat().st_size > MAX_NOTICE_BYTES:
        raise InvalidRecordError(
            f"{path} is larger than {MAX_NOTICE_BYTES} bytes", reason="notice_file_too_large"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRecordError(f"{path} is not JSON: {exc}", reason="notice_invalid") from None
    return NoticeContent.parse(data)


def _notice_json(notice: NoticeInfo) -> dict[str, object]:
    return {
        "version": notice.version,
        "seq": notice.seq,
        "published_at": notice.published_at.isoformat(),
        "published_by": notice.published_by,
        "widens": notice.widens,
        "content_sha256": notice.content_sha256,
        "content": json.loads(notice.content.to_json()),
    }


def register(app: typer.Typer) -> None:
    app.add_typer(notice_app, name="notice")
    app.add_typer(consent_app, name="consent")
    app.add_typer(guardian_app, name="guardian")
