"""The FastAPI application: ``create_app(settings)``.

``create_app`` with no arguments reads the settings from the environment: it is the factory
each worker of ``facegate serve --workers N`` calls (``uvicorn.run(..., factory=True)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from facegate import __version__
from facegate.api import docs, errors
from facegate.api.body_limit import BodyLimitMiddleware
from facegate.api.gallery_watch import GalleryWatch, run_gallery_watch
from facegate.api.idempotency import IdempotencyMiddleware
from facegate.api.routes import (
    admin_credentials,
    admin_frontdesk,
    admin_live,
    admin_log,
    admin_site,
    admin_staff,
    admin_subjects,
    auth,
    device,
    explanations,
    gate_schedules,
    health,
    me,
    me_passes,
    operator_accounts,
    pages,
)
from facegate.api.same_origin import SameOriginMiddleware
from facegate.api.state import AppState
from facegate.core.config import Settings, SharedState, load_settings
from facegate.models.registry import ModelRegistry
from facegate.models.watch import run_watch
from facegate.store import Store

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """The service. It opens its own store unless one is given (tests, ``facegate serve``)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = store is None
        opened = Store.open(settings) if store is None else store
        state = app.state.facegate = AppState(settings, opened, ModelRegistry.default())
        interval = settings.model_check_interval_s
        watching = (
            asyncio.create_task(run_watch(state.model_watch, opened, interval))
            if interval > 0
            else None
        )
        # With several workers, another worker's erasure reaches this one's cache by timer.
        galleries = (
            asyncio.create_task(
                run_gallery_watch(GalleryWatch(opened), settings.gallery_check_interval_s)
            )
            if settings.shared_state is SharedState.DATABASE
            else None
        )
        try:
            yield
        finally:
            for task in (watching, galleries):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if own:
                opened.close()

    app = FastAPI(
        title="facegate",
        version=__version__,
        summary="Face-recognition access control for residential communities, private by design.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=docs.OPENAPI_PATH if settings.serves_api_docs else None,
    )
    errors.install(app)
    # Innermost: it reads a body the limit below has already capped, and only for a
    # create that carries an Idempotency-Key.
    app.add_middleware(IdempotencyMiddleware)
    # Inside the metrics middleware: a BaseHTTPMiddleware reads the body in a task group,
    # which would turn the limit's 413 into an exception group, then a 400.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_upload_bytes)

    @app.middleware("http")
    async def _limits_and_metrics(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # The route template, never the path: paths hold ids.
        template = getattr(request.scope.get("route"), "path", "unmatched")
        state: AppState | None = getattr(request.app.state, "facegate", None)
        if state is not None:
            state.metrics.requests.labels(template, f"{response.status_code // 100}xx").inc()
        response.headers.setdefault("Cache-Control", "no-store")
        logger.info(
            "request",
            extra={
                "route": template,
                "method": request.method,
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1e3, 1),
            },
        )
        return response

    app.include_router(health.router)
    app.include_router(device.router)
    app.include_router(auth.router)
    app.include_router(admin_subjects.router)
    app.include_router(admin_credentials.router)
    app.include_router(admin_frontdesk.router)
    app.include_router(admin_log.router)
    app.include_router(explanations.router)
    app.include_router(admin_live.router)
    app.include_router(admin_site.router)
    app.include_router(admin_staff.router)
    app.include_router(me.router)
    app.include_router(me_passes.router)
    app.include_router(operator_accounts.router)
    app.include_router(gate_schedules.router)
    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")
    if settings.serves_api_docs:
        docs.install(app)
    # The last added runs first: the forwarded address (only from proxies named in the
    # settings), then the origin check, before any route reads a byte of the body.
    app.add_middleware(SameOriginMiddleware)
    if settings.proxy_list:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.proxy_list)
    return app
