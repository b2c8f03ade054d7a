"""``facegate operator-account``: property companies that run many sites (issue 16).

An operator account (``store.operator_accounts``) belongs to one organisation, the
``operator`` of the sites it runs; it is not the front desk, the staff role ``operator``
(``facegate admin create --role operator``), hence the longer name.

- ``create`` makes an account; its password is printed once (or read with
  ``--password-stdin``);
- ``add-site`` puts an existing site under an organisation (the site's people then count
  for that organisation's CAC filing, R-31; the previous organisation's accounts lose
  their sessions there);
- ``list`` shows the accounts, and each organisation's sites with their enrolled people
  and the organisation's total against the filing threshold;
- ``reset-password`` (printed once, or from stdin; lifts a lock-out), ``disable`` and
  ``enable``: the first two end the account's sessions, its own and those it opened at
  sites.

Every change is audited with the CLI's actor (``cli`` unless ``--actor`` says otherwise).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from facegate.cli.admin import PasswordStdin, _password
from facegate.cli.context import get

operator_account_app = typer.Typer(
    help="Property companies' accounts over their sites: create, add a site, list, reset.",
    no_args_is_help=True,
)
OrganisationOption = Annotated[
    str,
    typer.Option("--organisation", help="The property company: the operator of the sites it runs."),
]
UsernameOption = Annotated[str, typer.Option("--username", help="The account's username.")]


@operator_account_app.command("create")
def create(
    ctx: typer.Context,
    organisation: OrganisationOption,
    username: UsernameOption,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add an operator account of ORGANISATION; audited at each of its sites."""
    context = get(ctx)
    password, shown = _password(password_stdin)
    with context.store() as store:
        info = store.operator_accounts.create(organisation, username, password, actor=context.actor)
    human = f"{escape(info.username)} added for {escape(info.organisation)}"
    if shown is not None:
        human += f"\n  password: {shown}  (shown once: note it down now)"
    context.emit(
        {"username": info.username, "organisation": info.organisation, "password": shown},
        human,
    )


@operator_account_app.command("add-site")
def add_site(
    ctx: typer.Context,
    organisation: OrganisationOption,
    site: Annotated[str, typer.Option("--site", help="Site (community) code.")],
) -> None:
    """Put SITE under ORGANISATION: its people count for that organisation's filing (R-31)."""
    context = get(ctx)
    with context.store() as store:
        previous = store.operator_accounts.assign_site(site, organisation, actor=context.actor)
        status = store.filing.status(site)
    human = f"{escape(site)}: run by {escape(organisation)} (was {escape(previous)}); "
    human += f"{status.enrolled_people} of {status.threshold} people for its filing"
    context.emit(
        {
            "site": site,
            "organisation": organisation,
            "previous": previous,
            "enrolled_people": status.enrolled_people,
            "filing_due": status.filing_due,
        },
        human,
    )


@operator_account_app.command("list")
def list_accounts(
    ctx: typer.Context,
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="Only this property company.")
    ] = None,
) -> None:
    """Operator accounts, and each organisation's sites and enrolled people (no passwords)."""
    context = get(ctx)
    with context.store() as store:
        accounts = store.operator_accounts.accounts(organisation)
        organisations = sorted({a.organisation for a in accounts})
        sites = {org: store.operator_accounts.sites(org) for org in organisations}
        filing = {org: store.filing.operator_status(org) for org in organisations}
    lines = []
    for org in organisations:
        status = filing[org]
        due = f"; filing due by {status.due_by}" if status.due_by else ""
        lines.append(
            f"[bold]{escape(org)}[/]: {status.enrolled_people} of {status.threshold} people{due}"
        )
        lines += [
            f"  account {escape(a.username)}" + ("  disabled" if a.disabled_at else "")
            for a in accounts
            if a.organisation == org
        ]
        lines += [f"  site {escape(s.code)}  {s.enrolled_people} people" for s in sites[org]]
    context.emit(
        {
            "accounts": accounts,
            "organisations": [
                {
                    "organisation": org,
                    "enrolled_people": filing[org].enrolled_people,
                    "filing_due": filing[org].filing_due,
                    "sites": sites[org],
                }
                for org in organisations
            ],
        },
        "\n".join(lines) or "no operator accounts",
    )


@operator_account_app.command("reset-password")
def reset_password(
    ctx: typer.Context, username: UsernameOption, password_stdin: PasswordStdin = False
) -> None:
    """Set a new password (printed once), lift the lock-out and end the account's sessions."""
    context = get(ctx)
    password, shown = _password(password_stdin)
    with context.store() as store:
        info = store.operator_accounts.set_password(username, password, actor=context.actor)
    human = f"password of {escape(info.username)} ({escape(info.organisation)}) replaced"
    if shown is not None:
        human += f"\n  new password: {shown}  (shown once: note it down now)"
    context.emit({"username": info.username, "password": shown}, human)


@operator_account_app.command("disable")
def disable(ctx: typer.Context, username: UsernameOption) -> None:
    """Disable the account and end its sessions; audited."""
    _set_disabled(ctx, username, disabled=True)


@operator_account_app.command("enable")
def enable(ctx: typer.Context, username: UsernameOption) -> None:
    """Enable a disabled account again; audited."""
    _set_disabled(ctx, username, disabled=False)


def _set_disabled(ctx: typer.Context, username: str, *, disabled: bool) -> None:
    context = get(ctx)
    with context.store() as store:
        info = store.operator_accounts.set_disabled(username, disabled, actor=context.actor)
    state = "disabled" if disabled else "enabled"
    context.emit(
        {"username": info.username, "disabled": info.disabled_at is not None},
        f"{escape(info.username)} {state}",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(operator_account_app, name="operator-account")
