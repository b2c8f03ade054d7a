"""``facegate serve``: the web service (uvicorn), on one process or several workers.

With ``--workers N`` (N > 1) the parent migrates the store and sets up the demo once, then
uvicorn starts N processes that each build their app from the environment
(``create_app`` as a factory) with the rate limits and challenges in the database
(``FACEGATE_SHARED_STATE=database``). SQLite serves several workers on one machine (WAL);
PostgreSQL is the production choice.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn
from rich.markup import escape

from facegate.api.app import create_app
from facegate.cli.context import get
from facegate.core.config import DetectorChoice, Settings, SharedState
from facegate.demo import DEMO_SITE
from facegate.demo_service import prepare_demo_service, reset_password_command
from facegate.store import Store
from facegate.vision.pipeline import check_detector

#: Where each worker finds its app: ``create_app()`` reads the settings from the environment.
APP_FACTORY = "facegate.api.app:create_app"
#: Seconds a worker may take to answer its supervisor's ping: a spawned worker imports the
#: whole CLI (OpenCV, dlib, onnxruntime) before it can answer, far beyond uvicorn's 5 s on a
#: busy small machine, which would kill and restart it over and over.
WORKER_HEALTHCHECK_S = 120
#: More processes than this on one machine is a deployment for several machines instead.
MAX_WORKERS = 64


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Default $FACEGATE_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default $FACEGATE_PORT or 8000.")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Set up the demo site (development only).")
    ] = False,
    detector: Annotated[
        DetectorChoice | None,
        typer.Option(
            help="Face detector: hog, or rcnn (the site's model from `facegate detector "
            "install`). Default $FACEGATE_DETECTOR or hog."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_WORKERS,
            help="Worker processes; more than 1 keeps rate limits and challenges in the database.",
        ),
    ] = 1,
) -> None:
    """Run the gate service, admin console, self-service and kiosk pages."""
    context = get(ctx)
    settings = context.settings
    if detector is not None:
        settings = settings.model_copy(update={"detector": detector})
    if workers > 1:
        settings = settings.model_copy(update={"shared_state": SharedState.DATABASE})
    # Before binding the port: a detector that cannot load is a typed error, not a failed
    # start-up inside uvicorn (the app checks again with the store's key).
    check_detector(context.registry, settings.detector, settings.engine)
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
            else:
                # A second run: the password was shown at the first one and is not stored.
                console.print(
                    "                 password: the one shown at the first run; lost it? run",
                    soft_wrap=True,
                )
                command = reset_password_command(DEMO_SITE, access.admin_user, context.data_dir)
                console.print(f"                 {escape(command)}", soft_wrap=True)
            console.print(f"  self-service   {base}/me      site demo, code {access.resident_code}")
            # One unbroken line: the link is meant to be copied whole.
            console.print(f"  gate kiosk     {base}/kiosk{access.kiosk_fragment}", soft_wrap=True)
        several = workers > 1
        if several:
            # Each worker opens the store itself; the parent's is closed before they start.
            store.close()
            _export_for_workers(settings)
        uvicorn.run(
            APP_FACTORY if several else create_app(settings, store=store),
            factory=several,
            workers=workers if several else None,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
            host=bind_host,
            port=bind_port,
            log_level="warning",
            access_log=False,  # access lines would carry paths with ids
            # uvicorn believes X-Forwarded-For from loopback by default; the app applies
            # FACEGATE_TRUSTED_PROXIES itself, so nothing else may.
            proxy_headers=False,
            forwarded_allow_ips=[],
        )
    finally:
        store.close()


def _export_for_workers(settings: Settings) -> None:
    """Put what the command line decided into the environment the workers read their
    settings from (the rest of the environment they inherit as it is)."""
    os.environ.update(
        {
            "FACEGATE_DATA_DIR": str(settings.data_dir.resolve()),
            "FACEGATE_ENGINE": settings.engine.value,
            "FACEGATE_DETECTOR": settings.detector.value,
            "FACEGATE_SHARED_STATE": settings.shared_state.value,
        }
    )


def register(app: typer.Typer) -> None:
    app.command()(serve)
