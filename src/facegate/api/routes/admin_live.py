"""Admin: the live feed of decisions (server-sent events) and opening a gate from the
console (audited, with a reason)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from facegate.api.deps import State, StoreDep, session_token
from facegate.api.live import LiveFeed
from facegate.api.routes.admin_scope import SiteAdmin, SiteReader, actor_of
from facegate.api.schemas.decisions import LoggedDecisionOut, RemoteOpenIn
from facegate.errors import AuthenticationError
from facegate.store import Store
from facegate.store.accounts import SessionInfo
from facegate.store.decision_log import logged_decision, open_remotely
from facegate.store.schema import utcnow

router = APIRouter(prefix="/api/v1/sites/{site}", tags=["admin: live"])

#: Seconds between heartbeat comments (proxies close a silent stream; the session is
#: checked again at each one).
HEARTBEAT_S = 15.0
#: Milliseconds a browser waits before reconnecting a dropped stream.
RECONNECT_MS = 5000
#: The longest a stream runs before the server ends it (the browser reconnects): a
#: connection never outlives an hour, whatever a proxy or a forgotten tab does.
MAX_STREAM_S = 3600
#: The event name of one decision.
DECISION_EVENT = "decision"


@router.get(
    "/decisions/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def decision_stream(
    site: str,
    request: Request,
    state: State,
    reader: SiteReader,
    max_seconds: Annotated[int, Query(ge=1, le=MAX_STREAM_S)] = MAX_STREAM_S,
) -> StreamingResponse:
    """Role: the site's auditor or administrator. Server-sent events: one ``decision``
    event (a ``LoggedDecisionOut``: names, never a score) per decision recorded at this
    site by this process from now on, heartbeat comments in between. The stream ends when
    the session is signed out or expires, or after ``max_seconds`` (an hour at most: the
    browser reconnects); an account holds at most a few streams (429)."""
    token = session_token(request)
    # Taken here, not in the generator, so a fourth stream is refused with a 429 answer.
    feed: LiveFeed = state.live
    watching = feed.subscribe(site, reader.principal_id)
    subscription = watching.__enter__()
    ends = time.monotonic() + max_seconds

    async def events() -> AsyncIterator[str]:
        try:
            yield f"retry: {RECONNECT_MS}\n\n"
            while (left := ends - time.monotonic()) > 0:
                try:
                    event_id = await asyncio.wait_for(
                        subscription.queue.get(), timeout=min(left, _until_next_check(reader))
                    )
                except TimeoutError:
                    if not await run_in_threadpool(_still_signed_in, state.store, token):
                        return
                    yield ": heartbeat\n\n"
                    continue
                row = await run_in_threadpool(logged_decision, state.store, site, event_id)
                if row is not None:
                    data = LoggedDecisionOut.of(row).model_dump_json()
                    yield f"id: {event_id}\nevent: {DECISION_EVENT}\ndata: {data}\n\n"
        finally:
            watching.__exit__(None, None, None)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _until_next_check(session: SessionInfo) -> float:
    """Seconds to the next heartbeat, or sooner if the session expires first."""
    left = (session.expires_at - utcnow()).total_seconds()
    return max(0.0, min(HEARTBEAT_S, left))


def _still_signed_in(store: Store, token: str) -> bool:
    try:
        store.accounts.session(token)
    except AuthenticationError:
        return False
    return True


@router.post("/gates/{gate}/open", response_model=LoggedDecisionOut, status_code=201)
def open_gate(
    site: str, gate: str, body: RemoteOpenIn, state: State, store: StoreDep, admin: SiteAdmin
) -> LoggedDecisionOut:
    """Role: the site's administrator. Opens ``gate`` from the console: recorded as a
    decision of kind ``remote`` with who did it and why (audited), shown in the log and
    the live feed. The gate's kiosk is not told in this version."""
    event_id = open_remotely(store, site, gate, body.why, actor_of(admin))
    state.live.publish(site, event_id)
    row = logged_decision(store, site, event_id)
    if row is None:  # pragma: no cover - just written in this site
        raise RuntimeError("the remote opening was not recorded")
    return LoggedDecisionOut.of(row)
