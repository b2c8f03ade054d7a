"""``/healthz`` for orchestrators and ``/metrics`` for Prometheus (no personal data)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from facegate.api.deps import State, bearer_token
from facegate.api.schemas.health import Health
from facegate.core.config import Environment
from facegate.errors import AuthenticationError, PermissionDeniedError

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz(state: State) -> Health:
    """Alive and the database answers; says nothing about anyone."""
    state.store.list_sites()
    return Health(status="ok")


@router.get("/metrics", response_class=Response)
def metrics(request: Request, state: State) -> Response:
    """Decisions by kind and outcome, latency histograms, request counts. With
    ``FACEGATE_METRICS_TOKEN`` set, only for that bearer token; without it, open in
    development and off in production (traffic counts tell when people come and go)."""
    expected = state.settings.metrics_token
    if expected is None:
        if state.settings.env is Environment.PRODUCTION:
            raise PermissionDeniedError(
                "metrics are off: set FACEGATE_METRICS_TOKEN to scrape", reason="metrics_off"
            )
    else:
        presented = bearer_token(request) or ""
        if not hmac.compare_digest(presented.encode(), expected.get_secret_value().encode()):
            raise AuthenticationError(
                "metrics need the scrape token (FACEGATE_METRICS_TOKEN)", reason="metrics_token"
            )
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
