"""``facegate admin``: staff accounts from the machine the service runs on: the first
administrator of a new site (``create``), who there is (``list``), and getting back into
the console when no administrator can sign in (``reset-password``).

``create`` and ``reset-password`` print a new random password once, or read one from stdin
(``--password-stdin``): whoever may run them here may read the database anyway.
``reset-password`` lifts the lock-out and ends the account's sessions; the audit
log records it with the CLI's actor (``cli`` unless ``--actor`` says otherwise).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from facegate.cli.context import get
from facegate.errors import InvalidRecordError
from facegate.store.accounts import Role
from facegate.store.staff import new_password


class StaffRole(StrEnum):
    """The roles a staff account may have (``Role`` less the resident)."""

    ADMIN = Role.ADMIN.value
    OPERATOR = Role.OPERATOR.value
    AUDITOR = Role.AUDITOR.value


admin_app = typer.Typer(
    help="Staff accounts of the console: create, list, get back in with a new password.",
    no_args_is_help=True,
)
SiteOption = Annotated[str, typer.Option("--site", help="Site (community) code.")]
UsernameOption = Annotated[str, typer.Option("--username", help="The staff account's username.")]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from stdin instead of making one."),
]


def _password(from_stdin: bool) -> tuple[str, str | None]:
    """(the password, the same to show once, or None when it came from stdin)."""
    if not from_stdin:
        made = new_password()
        return made, made
    given = sys.stdin.readline().rstrip("\r\n")
    if not given:
        raise InvalidRecordError(
            "no password on stdin: give the new password as one line, or leave out "
            "--password-stdin to have one made",
            reason="password_format",
        )
    return given, None


@admin_app.command("create")
def create(
    ctx: typer.Context,
    site: SiteOption,
    username: UsernameOption,
    role: Annotated[
        StaffRole, typer.Option("--role", help="admin, operator (front desk) or auditor.")
    ] = StaffRole.ADMIN,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a staff account (a site administrator unless --role says); audited."""
    context = get(ctx)
    password, shown = _password(password_stdin)
    with context.store() as store:
        info = store.accounts.create_admin(
            site, username, password, actor=context.actor, role=Role(role.value)
        )
    human = f"{escape(info.username)} ({info.role.value}) added at {escape(info.site_code)}"
    if shown is not None:
        human += f"\n  password: {shown}  (shown once: note it down now)"
    context.emit(
        {"username": info.username, "site": info.site_code, "role": info.role.value,
         "password": shown},
        human,
    )  # fmt: skip


@admin_app.command("list")
def list_staff(ctx: typer.Context, site: SiteOption) -> None:
    """The site's staff accounts: role, and whether disabled or locked (no passwords)."""
    context = get(ctx)
    with context.store() as store:
        staff = store.staff.list(site)
    lines = [
        f"{escape(s.username)}  {s.role.value}"
        + ("  disabled" if s.disabled_at else "")
        + (f"  locked until {s.locked_until:%Y-%m-%d %H:%M} UTC" if s.locked_until else "")
        for s in staff
    ]
    context.emit({"staff": staff}, "\n".join(lines) or "no staff accounts")


@admin_app.command("reset-password")
def reset_password(
    ctx: typer.Context,
    site: SiteOption,
    username: UsernameOption,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (printed once), lift the lock-out and end the account's sessions."""
    context = get(ctx)
    password, shown = _password(password_stdin)
    with context.store() as store:
        info = store.accounts.set_admin_password(
            username, password, actor=context.actor, site_code=site
        )
    human = f"password of {escape(info.username)} ({info.role.value}) at {escape(info.site_code)}"
    human += " replaced; its sessions ended and any lock-out lifted"
    if shown is not None:
        human += f"\n  new password: {shown}  (shown once: note it down now)"
    context.emit(
        {
            "username": info.username,
            "site": info.site_code,
            "role": info.role.value,
            "password": shown,
        },
        human,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(admin_app, name="admin")
