"""The Idempotency-Key header on creates: a retry is answered from the first request, a
one-time secret (at any depth), an answer too large or past the principal's cap is never
kept (409 instead), another request under the same key is refused, concurrent duplicates
run once and wait by reading, a dry run takes no key, and a failed request frees its key."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from starlette.datastructures import Headers

from facegate.api import idempotency as api_idempotency
from facegate.api.idempotency import (
    REPLAYED_HEADER,
    IdempotencyMiddleware,
    _fingerprint,
    _holds_secret,
    mark_dry_run,
    mark_one_time_secret,
)
from facegate.store import Store
from facegate.store import idempotency as store_idempotency
from facegate.store.idempotency import ABANDONED_AFTER, KEY_TTL, Claim, ClaimOutcome
from facegate.store.schema import IdempotencyRecord, utcnow
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import OPERATOR, consented_subject

SUBJECTS = f"{API}/sites/{SITE}/subjects"
WANG = {"name": "Wang Wu", "kind": "resident", "adult": True}
CONCURRENT = 6


def _names(store: Store) -> list[str | None]:
    return [s.display_name for s in store.list_subjects(SITE)]


def _headers(client: TestClient, setup: Setup, key: str) -> dict[str, str]:
    return bearer(admin_token(client, setup.admin_user)) | {"Idempotency-Key": key}


def test_a_retried_create_is_answered_from_the_first(
    client: TestClient, setup: Setup, store: Store
) -> None:
    headers = _headers(client, setup, "k-1")
    first = client.post(SUBJECTS, headers=headers, json=WANG)
    again = client.post(SUBJECTS, headers=headers, json=WANG)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert REPLAYED_HEADER not in first.headers
    assert again.headers[REPLAYED_HEADER] == "true"
    assert _names(store).count("Wang Wu") == 1
    # A new key is a new create.
    other = client.post(SUBJECTS, headers=headers | {"Idempotency-Key": "k-2"}, json=WANG)
    assert other.status_code == 201
    assert _names(store).count("Wang Wu") == 2


def test_the_same_key_with_another_request_is_refused(
    client: TestClient, setup: Setup, store: Store
) -> None:
    headers = _headers(client, setup, "k-1")
    assert client.post(SUBJECTS, headers=headers, json=WANG).status_code == 201
    changed = client.post(SUBJECTS, headers=headers, json=WANG | {"name": "Li Lei"})
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    assert "Li Lei" not in _names(store)


def test_a_one_time_secret_is_not_kept_and_a_retry_is_a_duplicate(
    client: TestClient, setup: Setup, store: Store
) -> None:
    subject = consented_subject(store, SITE)
    headers = _headers(client, setup, "otp-1")
    path = f"{SUBJECTS}/{subject.id}/credentials/otp"
    first = client.post(path, headers=headers)
    assert first.status_code == 201
    code = first.json()["code"]
    again = client.post(path, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_request"
    assert code not in again.text
    otps = [c for c in store.credentials.list_for_subject(subject.id) if c.kind.value == "otp"]
    assert len(otps) == 1
    with store.reading() as session:
        row = session.scalars(select(IdempotencyRecord)).one()
        assert (row.status, row.secret, row.body) == (201, True, None)


def test_a_sign_in_code_and_a_staff_password_are_not_kept_either(
    client: TestClient, setup: Setup, store: Store
) -> None:
    subject = consented_subject(store, SITE)
    headers = _headers(client, setup, "code-1")
    path = f"{SUBJECTS}/{subject.id}/signin-codes"
    assert client.post(path, headers=headers).status_code == 201
    assert client.post(path, headers=headers).status_code == 409
    staff = f"{API}/sites/{SITE}/staff"
    body = {"username": "desk@sunny", "role": "operator"}
    made = client.post(staff, headers=headers | {"Idempotency-Key": "s-1"}, json=body)
    assert made.status_code == 201
    again = client.post(staff, headers=headers | {"Idempotency-Key": "s-1"}, json=body)
    assert again.status_code == 409
    assert made.json()["password"] not in again.text
    with store.reading() as session:
        assert all(row.body is None for row in session.scalars(select(IdempotencyRecord)))


def test_keys_are_per_principal(client: TestClient, setup: Setup, store: Store) -> None:
    # Another site's administrator sending the same key makes their own resident.
    mine = client.post(SUBJECTS, headers=_headers(client, setup, "shared"), json=WANG)
    theirs = client.post(
        f"{API}/sites/{OTHER_SITE}/subjects",
        headers=bearer(admin_token(client, f"admin@{OTHER_SITE}")) | {"Idempotency-Key": "shared"},
        json=WANG,
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_failed_first_request_may_be_retried(
    client: TestClient, setup: Setup, store: Store
) -> None:
    headers = _headers(client, setup, "k-1")
    refused = client.post(SUBJECTS, headers=headers, json=WANG | {"adult": False})
    assert refused.status_code == 422
    with store.reading() as session:
        assert session.scalars(select(IdempotencyRecord)).all() == []
    # Corrected and sent again under the same key (a refusal did nothing, so none is kept).
    done = client.post(SUBJECTS, headers=headers, json=WANG)
    assert done.status_code == 201
    assert client.post(SUBJECTS, headers=headers, json=WANG).headers[REPLAYED_HEADER] == "true"


def test_concurrent_duplicates_do_the_work_once(
    client: TestClient, setup: Setup, store: Store
) -> None:
    headers = _headers(client, setup, "k-concurrent")

    def create(_: int) -> tuple[int, str]:
        response = client.post(SUBJECTS, headers=headers, json=WANG)
        return response.status_code, response.text

    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = list(pool.map(create, range(CONCURRENT)))
    assert {status for status, _ in answers} == {201}
    assert len({text for _, text in answers}) == 1
    assert _names(store).count("Wang Wu") == 1


def test_expired_keys_are_pruned_and_a_bad_key_is_refused(
    client: TestClient, setup: Setup, store: Store
) -> None:
    headers = _headers(client, setup, "k-old")
    assert client.post(SUBJECTS, headers=headers, json=WANG).status_code == 201
    with store.transaction() as session:
        session.execute(
            update(IdempotencyRecord).values(created_at=utcnow() - KEY_TTL - timedelta(minutes=1))
        )
    # Past the TTL the key is forgotten: the same request is a new create.
    assert client.post(SUBJECTS, headers=headers, json=WANG).status_code == 201
    assert _names(store).count("Wang Wu") == 2
    assert store.idempotency.prune(utcnow() + KEY_TTL + timedelta(minutes=1)) == 1
    for bad in ("x" * 65, "with space"):
        response = client.post(SUBJECTS, headers=headers | {"Idempotency-Key": bad}, json=WANG)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "idempotency_key_invalid"
    assert _names(store).count("Wang Wu") == 2


def test_a_resent_form_is_the_same_request_whatever_its_boundary() -> None:
    scope = {"method": "POST", "path": f"{SUBJECTS}/x/enrollments", "query_string": b""}

    def form(boundary: str) -> tuple[Headers, bytes]:
        headers = Headers({"content-type": f"multipart/form-data; boundary={boundary}"})
        body = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=images\r\n\r\nPNG\r\n"
            f"--{boundary}--\r\n"
        ).encode()
        return headers, body

    one, two = form("aaaa1111"), form("bbbb2222")
    assert _fingerprint(scope, *one) == _fingerprint(scope, *two)
    other = form("aaaa1111")[0], form("aaaa1111")[1].replace(b"PNG", b"JPG")
    assert _fingerprint(scope, *other) != _fingerprint(scope, *one)


def test_a_route_may_mark_its_answer_as_a_one_time_secret(store: Store, setup: Setup) -> None:
    app = FastAPI()
    app.state.facegate = SimpleNamespace(store=store)
    app.add_middleware(IdempotencyMiddleware)
    made = []

    @app.post(f"/api/v1/sites/{SITE}/tickets", status_code=201)
    def ticket(request: Request) -> dict[str, str]:
        mark_one_time_secret(request)
        made.append("ticket")
        return {"ticket": f"secret-{len(made)}"}

    token = store.accounts.sign_in_admin(setup.admin_user, ADMIN_PASSWORD).token
    headers = bearer(token) | {"Idempotency-Key": "t-1"}
    with TestClient(app) as client:
        first = client.post(f"/api/v1/sites/{SITE}/tickets", headers=headers)
        again = client.post(f"/api/v1/sites/{SITE}/tickets", headers=headers)
    assert (first.status_code, again.status_code) == (201, 409)
    assert made == ["ticket"]
    assert "secret-1" not in again.text


def test_a_claim_left_by_a_dead_process_is_taken_over(store: Store) -> None:
    first = store.idempotency.claim("admin:x", "k", "f" * 64)
    assert first.outcome is ClaimOutcome.FIRST
    assert store.idempotency.claim("admin:x", "k", "f" * 64).outcome is ClaimOutcome.RUNNING
    with store.transaction() as session:
        session.execute(
            update(IdempotencyRecord).values(
                created_at=utcnow() - ABANDONED_AFTER - timedelta(seconds=1)
            )
        )
    assert store.idempotency.claim("admin:x", "k", "f" * 64).outcome is ClaimOutcome.FIRST
    store.idempotency.finish("admin:x", "k", 201, '{"id": "1"}', secret=False)
    replay = store.idempotency.claim("admin:x", "k", "f" * 64)
    assert (replay.outcome, replay.status, replay.body) == (ClaimOutcome.REPLAY, 201, '{"id": "1"}')
    assert store.idempotency.claim("admin:x", "k", "e" * 64).outcome is ClaimOutcome.REUSED


TICKETS = f"/api/v1/sites/{SITE}/tickets"


def _rows(store: Store) -> list[IdempotencyRecord]:
    with store.reading() as session:
        return list(session.scalars(select(IdempotencyRecord)))


@pytest.fixture
def own_app(store: Store, setup: Setup) -> Iterator[Callable[..., Any]]:
    """A bare app with the middleware; ``own_app(route)`` serves ``route`` at ``TICKETS``
    and answers a client and the signed-in headers (key ``t-1``)."""
    clients: list[TestClient] = []

    def make(route: Callable[..., Any]) -> tuple[TestClient, dict[str, str]]:
        app = FastAPI()
        app.state.facegate = SimpleNamespace(store=store)
        app.add_middleware(IdempotencyMiddleware)
        app.post(TICKETS, status_code=201)(route)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        token = store.accounts.sign_in_admin(setup.admin_user, ADMIN_PASSWORD).token
        return client, bearer(token) | {"Idempotency-Key": "t-1"}

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_a_duplicate_waits_by_reading_not_by_claiming(
    own_app: Callable[..., Any], store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, go = threading.Event(), threading.Event()
    made: list[str] = []

    def ticket() -> dict[str, str]:
        started.set()
        assert go.wait(10)
        made.append("ticket")
        return {"ticket": f"t-{len(made)}"}

    client, headers = own_app(ticket)
    claims: list[Claim] = []
    peeks: list[Claim | None] = []
    claim, peek = store.idempotency.claim, store.idempotency.peek

    def counted_claim(principal: str, key: str, fingerprint: str) -> Claim:
        claims.append(claim(principal, key, fingerprint))
        return claims[-1]

    def counted_peek(principal: str, key: str, fingerprint: str) -> Claim | None:
        peeks.append(peek(principal, key, fingerprint))
        return peeks[-1]

    monkeypatch.setattr(store.idempotency, "claim", counted_claim)
    monkeypatch.setattr(store.idempotency, "peek", counted_peek)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.post, TICKETS, headers=headers)
        assert started.wait(10)
        again = pool.submit(client.post, TICKETS, headers=headers)
        deadline = time.monotonic() + 10
        while len(peeks) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        go.set()
        answers = first.result(), again.result()
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[1].headers[REPLAYED_HEADER] == "true"
    assert made == ["ticket"]
    # One write claim each; the wait was reads only.
    assert [c.outcome for c in claims] == [ClaimOutcome.FIRST, ClaimOutcome.RUNNING]
    assert len(peeks) >= 3
    assert peeks[-1] == Claim(ClaimOutcome.REPLAY, 201, answers[0].text)


def test_expired_keys_are_pruned_now_and_then_not_at_every_claim(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    pruned: list[int] = []
    prune = store.idempotency.prune

    def counted_prune(now: Any = None) -> int:
        pruned.append(prune(now))
        return pruned[-1]

    monkeypatch.setattr(store.idempotency, "prune", counted_prune)
    assert store.idempotency.claim("admin:x", "old", "f" * 64).outcome is ClaimOutcome.FIRST
    with store.transaction() as session:
        session.execute(
            update(IdempotencyRecord).values(created_at=utcnow() - KEY_TTL - timedelta(minutes=1))
        )
    for n in range(5):
        assert store.idempotency.claim("admin:x", f"k{n}", "f" * 64).outcome is ClaimOutcome.FIRST
    # Pruned once (at the first claim): the expired row is still there...
    assert pruned == [0]
    assert len(_rows(store)) == 6
    # ...but counts as forgotten: the same key is a new claim.
    assert store.idempotency.peek("admin:x", "old", "f" * 64) is None
    # A minute later, the next claim prunes it.
    monkeypatch.setattr(store_idempotency, "PRUNE_EVERY", 0.0)
    store.idempotency.claim("admin:x", "k-next", "f" * 64)
    assert pruned == [0, 1]
    assert len(_rows(store)) == 6


def test_a_dry_run_takes_no_key(
    client: TestClient, setup: Setup, store: Store, own_app: Callable[..., Any]
) -> None:
    headers = _headers(client, setup, "dry-1")
    files = {"file": ("residents.csv", "name\n王五\n".encode(), "text/csv")}
    url = f"{SUBJECTS}/import?dry_run=true"
    first = client.post(url, files=files, headers=headers)
    again = client.post(url, files=files, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert REPLAYED_HEADER not in again.headers
    assert first.json()["dry_run"] is True
    assert _rows(store) == []
    # The import checks by default: without the parameter it is a dry run too.
    plain = f"{SUBJECTS}/import"
    assert client.post(plain, files=files, headers=headers).status_code == 200
    again = client.post(plain, files=files, headers=headers)
    assert REPLAYED_HEADER not in again.headers
    assert _rows(store) == []
    # A route whose request was a dry run (its default) says so: the key is forgotten.
    made: list[str] = []

    def ticket(request: Request) -> dict[str, str]:
        mark_dry_run(request)
        made.append("ticket")
        return {"ticket": "checked"}

    own, own_headers = own_app(ticket)
    assert own.post(TICKETS, headers=own_headers).status_code == 201
    assert own.post(TICKETS, headers=own_headers).status_code == 201
    assert made == ["ticket", "ticket"]
    assert _rows(store) == []


def test_answers_kept_per_principal_are_capped(
    client: TestClient, setup: Setup, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_idempotency, "MAX_KEPT_PER_PRINCIPAL", 2)
    headers = _headers(client, setup, "k-0")
    for n in range(3):
        made = client.post(SUBJECTS, headers=headers | {"Idempotency-Key": f"k-{n}"}, json=WANG)
        assert made.status_code == 201
    # The first two are replayed; the third was not kept: its retry is a duplicate.
    replay = client.post(SUBJECTS, headers=headers, json=WANG)
    assert replay.headers[REPLAYED_HEADER] == "true"
    again = client.post(SUBJECTS, headers=headers | {"Idempotency-Key": "k-2"}, json=WANG)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_request"
    assert _names(store).count("Wang Wu") == 3
    with store.reading() as session:
        kept = session.scalar(
            select(func.count())
            .select_from(IdempotencyRecord)
            .where(IdempotencyRecord.body.is_not(None))
        )
    assert kept == 2
    # Another principal has a cap of its own.
    theirs = bearer(admin_token(client, f"admin@{OTHER_SITE}")) | {"Idempotency-Key": "k-2"}
    url = f"{API}/sites/{OTHER_SITE}/subjects"
    assert client.post(url, headers=theirs, json=WANG).status_code == 201
    assert client.post(url, headers=theirs, json=WANG).headers[REPLAYED_HEADER] == "true"


def test_a_secret_is_found_at_any_depth(own_app: Callable[..., Any], store: Store) -> None:
    assert _holds_secret(b'{"device": {"id": "d1", "api_key": "k"}}')
    assert _holds_secret(b'{"items": [{"name": "a"}, {"staff": {"password": "p"}}]}')
    assert _holds_secret(b'[{"pin": "1234"}]')
    assert not _holds_secret(b'{"items": [{"name": "a"}], "total": 1}')
    assert not _holds_secret(b'["code", "pin"]')
    made: list[str] = []

    def ticket() -> dict[str, Any]:
        made.append("ticket")
        return {"device": {"id": "d1", "keys": [{"api_key": f"secret-{len(made)}"}]}}

    client, headers = own_app(ticket)
    assert client.post(TICKETS, headers=headers).status_code == 201
    again = client.post(TICKETS, headers=headers)
    assert again.status_code == 409
    assert "secret-1" not in again.text
    assert made == ["ticket"]
    assert [row.body for row in _rows(store)] == [None]


def test_a_one_letter_boundary_does_not_hide_the_difference_between_uploads() -> None:
    scope = {"method": "POST", "path": f"{SUBJECTS}/x/enrollments", "query_string": b""}

    def form(boundary: str, content: str) -> tuple[Headers, bytes]:
        headers = Headers({"content-type": f'multipart/form-data; boundary="{boundary}"'})
        body = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=images\r\n\r\n"
            f"{content}\r\n--{boundary}--\r\n"
        ).encode()
        return headers, body

    # With boundary "a", every "a" in the body was deleted: "cat" and "ct" hashed the same.
    assert _fingerprint(scope, *form("a", "cat")) != _fingerprint(scope, *form("a", "ct"))
    assert _fingerprint(scope, *form("a", "data")) != _fingerprint(scope, *form("a", "dt"))
    # The same form under another boundary is still the same request...
    assert _fingerprint(scope, *form("a", "cat")) == _fingerprint(scope, *form("zz", "cat"))
    # A line that only starts like a delimiter is content...
    assert _fingerprint(scope, *form("a", "x\r\n--ab")) != _fingerprint(
        scope, *form("b", "x\r\n--bb")
    )
    # ...and then the boundary counts: a parser may read those bodies apart.
    assert _fingerprint(scope, *form("a", "x\r\n--ab")) != _fingerprint(
        scope, *form("zz", "x\r\n--ab")
    )
    # Another content type is another request.
    json_type = Headers({"content-type": "application/json"})
    text_type = Headers({"content-type": "text/plain"})
    assert _fingerprint(scope, json_type, b"{}") != _fingerprint(scope, text_type, b"{}")


def test_a_store_refusal_frees_the_key_for_an_immediate_retry(
    client: TestClient, setup: Setup, store: Store
) -> None:
    holder = consented_subject(store, SITE, name="Zhao Liu")
    card = store.credentials.issue_card(holder.id, "0042", actor=OPERATOR)
    subject = consented_subject(store, SITE)
    headers = _headers(client, setup, "card-1")
    path = f"{SUBJECTS}/{subject.id}/credentials/card"
    refused = client.post(path, headers=headers, json={"card_number": "0042"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "already_exists"
    assert _rows(store) == []
    # The card revoked, the same request under the same key is processed normally.
    store.credentials.revoke(card.id, actor=OPERATOR)
    done = client.post(path, headers=headers, json={"card_number": "0042"})
    assert done.status_code == 201
    assert REPLAYED_HEADER not in done.headers
    assert done.json()["subject_id"] == subject.id


def test_a_route_that_raises_frees_the_key(own_app: Callable[..., Any], store: Store) -> None:
    made: list[str] = []

    def ticket() -> dict[str, str]:
        made.append("try")
        if len(made) == 1:
            raise RuntimeError("the database went away")
        return {"ticket": "made"}

    client, headers = own_app(ticket)
    assert client.post(TICKETS, headers=headers).status_code == 500
    assert _rows(store) == []
    retried = client.post(TICKETS, headers=headers)
    assert (retried.status_code, retried.json()) == (201, {"ticket": "made"})
    assert REPLAYED_HEADER not in retried.headers
    assert made == ["try", "try"]


def test_a_key_still_running_after_the_wait_is_a_duplicate(
    own_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_idempotency, "RUNNING_WAIT", 0.2)
    started, go = threading.Event(), threading.Event()
    made: list[str] = []

    def ticket() -> dict[str, str]:
        started.set()
        assert go.wait(10)
        made.append("ticket")
        return {"ticket": "made"}

    client, headers = own_app(ticket)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, TICKETS, headers=headers)
        assert started.wait(10)
        waited = client.post(TICKETS, headers=headers)
        go.set()
        done = first.result()
    assert waited.status_code == 409
    assert waited.json()["error"]["code"] == "duplicate_request"
    assert done.status_code == 201
    assert made == ["ticket"]


def test_an_answer_too_large_to_keep_is_not_kept(
    client: TestClient, setup: Setup, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_idempotency, "MAX_KEPT_BODY", 10)
    headers = _headers(client, setup, "big-1")
    made = client.post(SUBJECTS, headers=headers, json=WANG)
    assert made.status_code == 201
    assert made.json()["name"] == "Wang Wu"  # the answer itself is whole
    again = client.post(SUBJECTS, headers=headers, json=WANG)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_request"
    assert _names(store).count("Wang Wu") == 1
    assert [(row.status, row.secret, row.body) for row in _rows(store)] == [(201, True, None)]
