"""``/healthz`` for orchestrators and ``/metrics`` for Prometheus (no personal data)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from facegate.api.deps import State
from facegate.api.schemas.health import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz(state: State) -> Health:
    """Alive and the database answers; says nothing about anyone."""
    state.store.list_sites()
    return Health(status="ok")


@router.get("/metrics", response_class=Response)
def metrics(state: State) -> Response:
    """Decisions by kind and outcome, latency histograms, request counts."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
