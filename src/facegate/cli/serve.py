"""``facegate serve``: the web service (uvicorn) on one process."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.markup import escape

from facegate.api.app import create_app
from facegate.cli.context import get
from facegate.demo_service import prepare_demo_service
from facegate.store import Store


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Default $FACEGATE_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default $FACEGATE_PORT or 8000.")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Set up the demo site (development only).")
    ] = False,
) -> None:
    """Run the gate service, admin console, self-service and kiosk pages."""
    context = get(ctx)
    settings = context.settings
    bind_host = host or settings.host
    bind_port = port or settings.port
    store = Store.open(settings)
    try:
        base = f"http://{bind_host}:{bind_port}"
        if demo:
            access = prepare_demo_service(store, settings)
            console = context.console
            console.print(f"[bold]facegate[/] on {base}  (API docs: {base}/docs)")
            console.print(f"  admin console  {base}/admin   user {escape(access.admin_user)}")
            if access.admin_password is not None:
                console.print(
                    f"                 password {escape(access.admin_password)} (shown once)"
                )
            console.print(f"  self-service   {base}/me      site demo, code {access.resident_code}")
            # One unbroken line: the link is meant to be copied whole.
            console.print(f"  gate kiosk     {base}/kiosk{access.kiosk_fragment}", soft_wrap=True)
        uvicorn.run(
            create_app(settings, store=store),
            host=bind_host,
            port=bind_port,
            log_level="warning",
            access_log=False,  # access lines would carry paths with ids
        )
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    app.command()(serve)
