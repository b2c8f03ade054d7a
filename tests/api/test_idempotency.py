"""The Idempotency-Key header on creates: a retry is answered from the first request, a
one-time secret is never kept (409 instead), another request under the same key is refused,
and concurrent duplicates run once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from starlette.datastructures import Headers

from facegate.api.idempotency import (
    REPLAYED_HEADER,
    IdempotencyMiddleware,
    _fingerprint,
    mark_one_time_secret,
)
from facegate.store import Store
from facegate.store.idempotency import ABANDONED_AFTER, KEY_TTL, ClaimOutcome
from facegate.store.schema import IdempotencyRecord, utcnow
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import consented_subject

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
