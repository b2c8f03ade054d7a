"""``facegate engine status``: how far a site has moved to the configured engine."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from facegate.cli.context import get
from facegate.store.site_reads import template_models
from facegate.vision.engines import census

engine_app = typer.Typer(
    help="Recognition engines and the move between them.", no_args_is_help=True
)

SiteOption = Annotated[str, typer.Option("--site", help="Site (community) code.")]


@engine_app.command("status")
def status(ctx: typer.Context, site: SiteOption = "demo") -> None:
    """People matched with the configured engine, and those still on an older one, who are
    matched with it until they re-enroll (the kiosk and their self-service page ask them)."""
    context = get(ctx)
    engine = context.settings.engine
    with context.store() as store:
        found = census(template_models(store, site), engine)
    legacy = ", ".join(f"{name} {count}" for name, count in found.legacy_only.items()) or "none"
    context.emit(
        {
            "site": site,
            "engine": found.engine.value,
            "people_with_templates": found.people,
            "on_engine": found.on_engine,
            "to_reenroll": found.to_reenroll,
            "legacy_only": found.legacy_only,
        },
        escape(
            f"{site}: engine {found.engine.value}; {found.people} people with face templates, "
            f"{found.on_engine} on it, {found.to_reenroll} still to re-enroll ({legacy})"
        ),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(engine_app, name="engine")
