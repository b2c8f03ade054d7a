"""The console's live feed: server-sent events of each decision (names, never a score),
served by a real uvicorn (Starlette's test client waits for a body that never ends)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from facegate.api.app import create_app
from facegate.api.live import MAX_STREAMS_PER_SESSION, LiveFeed
from facegate.api.routes import admin_live
from facegate.bench.load import free_port
from facegate.core.config import Settings
from facegate.errors import RateLimitedError
from facegate.store import Store
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.store.helpers import OPERATOR, consented_subject

CARD = "04A1B2C3"
_START_S = 20.0
#: Seconds a test waits for a line of the stream.
READ_S = 10.0


@pytest.fixture
def served(settings: Settings, store: Store, setup: Setup) -> Iterator[str]:
    app = create_app(settings, store=store)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=free_port(),
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_S
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _token(url: str, setup: Setup) -> str:
    response = httpx.post(
        f"{url}/api/v1/auth/admin",
        json={"username": setup.admin_user, "password": ADMIN_PASSWORD},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def _stream_url(url: str) -> str:
    return f"{url}/api/v1/sites/{SITE}/decisions/stream"


def _events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) of each event; comments and retry lines are skipped."""
    name, data = "", ""
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and name:
            yield name, data
            name, data = "", ""


@pytest.mark.rule("R-27")
def test_a_card_decision_arrives_with_names_and_no_score(
    served: str, store: Store, setup: Setup
) -> None:
    subject = consented_subject(store, SITE, name="Wang Fang")
    store.credentials.issue_card(subject.id, CARD, actor=OPERATOR)
    token = _token(served, setup)
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(timeout=READ_S) as client,
        client.stream("GET", _stream_url(served), headers=headers) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines).startswith("retry: ")
        decided = httpx.post(
            f"{served}/api/v1/decisions",
            data={"gate": "main", "kind": "card", "secret": CARD},
            headers={"Authorization": f"Bearer {setup.device_key}"},
        )
        assert decided.json()["outcome"] == "open"
        name, data = next(_events(lines))
    row = json.loads(data)
    assert name == "decision"
    assert row["id"] == decided.json()["decision_id"]
    assert (row["person"], row["gate_name"], row["device_name"]) == (
        "Wang Fang",
        "Main gate",
        "Kiosk 1",
    )
    assert (row["kind"], row["outcome"]) == ("card", "open")
    assert not any("score" in key or "distance" in key for key in row)


def test_the_stream_ends_when_the_session_is_signed_out(
    served: str, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_live, "HEARTBEAT_S", 0.2)
    token = _token(served, setup)
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(timeout=READ_S) as client,
        client.stream("GET", _stream_url(served), headers=headers) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines).startswith("retry: ")
        assert next(line for line in lines if line) == ": heartbeat"
        assert httpx.post(f"{served}/api/v1/auth/logout", headers=headers).status_code < 300
        rest = list(lines)  # ends: the server closes the stream
    assert all(line in {"", ": heartbeat"} for line in rest)


def test_a_session_holds_a_few_streams_at_most(served: str, setup: Setup) -> None:
    token = _token(served, setup)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=READ_S) as client:
        streams = [
            client.stream("GET", _stream_url(served), headers=headers)
            for _ in range(MAX_STREAMS_PER_SESSION)
        ]
        opened = [s.__enter__() for s in streams]
        try:
            assert all(s.status_code == 200 for s in opened)
            refused = client.get(_stream_url(served), headers=headers)
            assert refused.status_code == 429
        finally:
            for s in streams:
                s.__exit__(None, None, None)
        # Closed streams give their places back (the server notices the disconnect).
        deadline = time.monotonic() + READ_S
        while True:
            with client.stream("GET", _stream_url(served), headers=headers) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "closed streams still count"
            time.sleep(0.1)


def test_no_session_no_stream(served: str) -> None:
    assert httpx.get(_stream_url(served)).status_code == 401


def test_streams_are_capped_per_account_and_for_the_process() -> None:
    """Signing in again does not buy more streams, and the process holds a bounded number."""

    async def run() -> None:
        feed = LiveFeed(max_per_session=2, max_streams=3)
        with feed.subscribe(SITE, "admin:1"), feed.subscribe(SITE, "admin:1"):
            with pytest.raises(RateLimitedError), feed.subscribe(SITE, "admin:1"):
                pass
            with (
                feed.subscribe(SITE, "auditor:2"),
                pytest.raises(RateLimitedError),
                feed.subscribe(OTHER_SITE, "admin:3"),
            ):
                pass
        with feed.subscribe(SITE, "admin:1"):  # closed streams free their places
            pass

    # On a thread of its own: Playwright's browser tests keep an event loop running on the
    # main thread for the whole session, and asyncio.run refuses to start inside one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()
