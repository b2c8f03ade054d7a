"""``gate``, ``credential`` and ``access`` commands: the ways in that are not the face.

Secrets (card numbers, PINs, one-time codes) are never command-line arguments, which other
users of the machine can read in the process list: they come from a hidden prompt, or from
one line of standard input when that is not a terminal. A new one-time code is printed once.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from facegate.cli.context import get
from facegate.store.credentials import DEFAULT_OTP_TTL
from facegate.store.gates import DEFAULT_LIVENESS
from facegate.store.records import CredentialKind, GateOutcome, LivenessLevel

gate_app = typer.Typer(help="Gates (doors) and the credentials each accepts.", no_args_is_help=True)
credential_app = typer.Typer(
    help="Cards, PINs and one-time codes: entry without the face.", no_args_is_help=True
)
access_app = typer.Typer(help="Decide at a gate from a card, PIN or code.", no_args_is_help=True)

#: Exit codes of ``access check`` when the gate stays shut (0 means it opens).
DENIED_EXIT = 10
TRY_ANOTHER_EXIT = 11

SiteOption = Annotated[str, typer.Option("--site", help="Site (community) code.")]
GateArgument = Annotated[str, typer.Argument(help="Gate code.")]
SubjectArgument = Annotated[str, typer.Argument(help="Subject id.")]


def read_secret(label: str, *, confirm: bool = False) -> str:
    """A secret from a hidden prompt, or the first line of stdin when it is not a terminal."""
    if sys.stdin.isatty():
        value: str = typer.prompt(label, hide_input=True, confirmation_prompt=confirm)
        return value
    return sys.stdin.readline().rstrip("\r\n")


@gate_app.command("configure")
def gate_configure(
    ctx: typer.Context,
    gate: GateArgument,
    name: Annotated[str, typer.Option(help="Display name, e.g. 'North gate'.")],
    site: SiteOption = "demo",
    face: Annotated[bool, typer.Option("--face/--no-face", help="Accept the face.")] = False,
    card: Annotated[bool, typer.Option("--card/--no-card", help="Accept cards.")] = True,
    pin: Annotated[bool, typer.Option("--pin/--no-pin", help="Accept PINs.")] = True,
    otp: Annotated[bool, typer.Option("--otp/--no-otp", help="Accept one-time codes.")] = True,
    liveness: Annotated[
        LivenessLevel,
        typer.Option(
            help="Liveness a face needs here: passive_active adds a challenge of movements."
        ),
    ] = DEFAULT_LIVENESS,
) -> None:
    """Create a gate or set exactly what it accepts. A face-only gate is refused (R-10)."""
    context = get(ctx)
    with context.store() as store:
        info = store.gates.configure(
            site,
            gate,
            name,
            accepts_face=face,
            accepts_card=card,
            accepts_pin=pin,
            accepts_otp=otp,
            liveness=liveness,
            actor=context.actor,
        )
    context.emit({"gate": info}, f"gate [bold]{escape(info.code)}[/] configured at {escape(site)}")


@gate_app.command("list")
def gate_list(ctx: typer.Context, site: SiteOption = "demo") -> None:
    """List a site's gates and what each accepts."""
    context = get(ctx)
    with context.store() as store:
        gates = store.gates.list(site)
    if context.as_json:
        context.emit({"gates": gates}, "")
        return
    table = Table("code", "name", "face", "card", "pin", "otp", "liveness")
    for g in gates:
        marks = ["yes" if on else "no" for on in (g.accepts_face, g.accepts_card)]
        marks += ["yes" if on else "no" for on in (g.accepts_pin, g.accepts_otp)]
        table.add_row(escape(g.code), escape(g.name), *marks, g.liveness.value)
    context.console.print(table)


@credential_app.command("card")
def credential_card(ctx: typer.Context, subject_id: SubjectArgument) -> None:
    """Issue a card; its number is read from a hidden prompt or stdin and stored hashed."""
    context = get(ctx)
    number = read_secret("Card number")
    with context.store() as store:
        info = store.credentials.issue_card(subject_id, number, context.actor)
    context.emit({"credential": info}, f"card [bold]{info.id}[/] issued to {subject_id}")


@credential_app.command("pin")
def credential_pin(ctx: typer.Context, subject_id: SubjectArgument) -> None:
    """Set a subject's PIN (6-12 digits) from a hidden prompt or stdin; replaces the old one."""
    context = get(ctx)
    pin = read_secret("PIN", confirm=True)
    with context.store() as store:
        info = store.credentials.set_pin(subject_id, pin, context.actor)
    context.emit({"credential": info}, f"PIN [bold]{info.id}[/] set for {subject_id}")


@credential_app.command("otp")
def credential_otp(
    ctx: typer.Context,
    subject_id: SubjectArgument,
    ttl_minutes: Annotated[
        int, typer.Option(help="Minutes the code stays valid (1 to 1440).")
    ] = int(DEFAULT_OTP_TTL.total_seconds() // 60),
) -> None:
    """Issue a one-time code and print it once: it cannot be shown again."""
    context = get(ctx)
    with context.store() as store:
        issued = store.credentials.issue_otp(
            subject_id, context.actor, ttl=timedelta(minutes=ttl_minutes)
        )
    context.emit(
        {"otp": issued},
        f"one-time code [bold]{issued.code}[/] for {subject_id}, valid until "
        f"{issued.expires_at.isoformat(timespec='seconds')} (shown once)",
    )


@credential_app.command("revoke")
def credential_revoke(
    ctx: typer.Context, credential_id: Annotated[str, typer.Argument(help="Credential id.")]
) -> None:
    """Revoke a card, PIN or code at once."""
    context = get(ctx)
    with context.store() as store:
        info = store.credentials.revoke(credential_id, context.actor)
    context.emit({"credential": info}, f"credential {info.id} is {info.status.value}")


@credential_app.command("list")
def credential_list(ctx: typer.Context, subject_id: SubjectArgument) -> None:
    """A subject's credentials: kind and status, never a number, PIN, code or hash."""
    context = get(ctx)
    with context.store() as store:
        credentials = store.credentials.list_for_subject(subject_id)
    if context.as_json:
        context.emit({"credentials": credentials}, "")
        return
    table = Table("kind", "status", "created", "expires")
    table.add_column("id", no_wrap=True)
    for c in credentials:
        table.add_row(
            c.kind.value,
            c.status.value,
            c.created_at.isoformat(timespec="seconds"),
            c.expires_at.isoformat(timespec="seconds") if c.expires_at else "—",
            c.id,
        )
    context.console.print(table)


@access_app.command("check")
def access_check(
    ctx: typer.Context,
    gate: GateArgument,
    kind: Annotated[CredentialKind, typer.Option(help="card, pin or otp.")],
    site: SiteOption = "demo",
    subject: Annotated[
        str | None, typer.Option("--subject", help="Subject id (a PIN only).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="Reader device id, for the audit.")] = None,
) -> None:
    """Present a card, PIN or code (from a hidden prompt or stdin) at a gate.

    Exit 0 when the gate opens, 10 when it is denied, 11 when another credential is needed.
    """
    context = get(ctx)
    secret = read_secret({"card": "Card number", "pin": "PIN", "otp": "One-time code"}[kind])
    with context.store() as store:
        decision = store.credentials.check(
            site, gate, kind, secret, subject_id=subject, actor=context.actor, device=device
        )
    context.emit(
        {"decision": decision},
        f"{decision.outcome.value} ({decision.reason.value}) at gate {escape(gate)}",
    )
    if decision.outcome is GateOutcome.DENY:
        raise typer.Exit(DENIED_EXIT)
    if decision.outcome is GateOutcome.TRY_ANOTHER:
        raise typer.Exit(TRY_ANOTHER_EXIT)


def register(app: typer.Typer) -> None:
    app.add_typer(gate_app, name="gate")
    app.add_typer(credential_app, name="credential")
    app.add_typer(access_app, name="access")
