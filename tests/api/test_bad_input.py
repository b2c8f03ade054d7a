"""Bad input to the admin and resident API: each a clear 4xx with the stable error body."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from facegate.store import Store
from facegate.store.accounts import token_digest
from facegate.store.schema import WebSession, utcnow
from tests.api.conftest import SITE, Setup
from tests.api.signin import API, admin_token, bearer, resident_token
from tests.store.helpers import consented_subject

SITE_API = f"{API}/sites/{SITE}"
UNKNOWN_ID = "0" * 32


def _error(response: Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    code: str = body["error"]["code"]
    return code


@pytest.fixture
def admin(client: TestClient, setup: Setup) -> dict[str, str]:
    return bearer(admin_token(client, setup.admin_user))


def test_malformed_json(client: TestClient, admin: dict[str, str]) -> None:
    headers = {**admin, "content-type": "application/json"}
    response = client.post(f"{SITE_API}/subjects", content=b'{"name": "x",', headers=headers)
    assert _error(response, 422) == "invalid_request"
    response = client.post(f"{API}/auth/admin", content=b"[1, 2", headers=headers)
    assert _error(response, 422) == "invalid_request"


def test_wrong_content_type(client: TestClient, admin: dict[str, str]) -> None:
    body = b'{"name": "Li", "kind": "resident", "adult": true}'
    response = client.post(
        f"{SITE_API}/subjects", content=body, headers={**admin, "content-type": "text/plain"}
    )
    assert _error(response, 422) == "invalid_request"
    form = client.post(f"{SITE_API}/subjects", data={"name": "Li"}, headers=admin)
    assert _error(form, 422) == "invalid_request"


def test_wrong_types_and_unknown_values(client: TestClient, admin: dict[str, str]) -> None:
    wrong = client.post(
        f"{SITE_API}/subjects", json={"name": 5, "kind": "resident", "adult": True}, headers=admin
    )
    assert _error(wrong, 422) == "invalid_request"
    kind = client.post(
        f"{SITE_API}/subjects", json={"name": "Li", "kind": "king", "adult": True}, headers=admin
    )
    assert _error(kind, 422) == "invalid_request"
    limit = client.get(f"{SITE_API}/decisions?limit=100000", headers=admin)
    assert _error(limit, 422) == "invalid_request"


def test_unknown_ids(client: TestClient, admin: dict[str, str]) -> None:
    assert _error(client.get(f"{SITE_API}/subjects/{UNKNOWN_ID}", headers=admin), 404) == (
        "not_found"
    )
    assert _error(client.delete(f"{SITE_API}/credentials/{UNKNOWN_ID}", headers=admin), 404)
    assert _error(client.delete(f"{SITE_API}/devices/{UNKNOWN_ID}", headers=admin), 404)
    malformed = client.get(f"{SITE_API}/subjects/not-an-id", headers=admin)
    assert malformed.status_code in (404, 422)
    assert set(malformed.json()) == {"error"}
    assert _error(client.get(f"{API}/nothing-here", headers=admin), 404) == "not_found"


def test_expired_session(client: TestClient, store: Store, setup: Setup) -> None:
    token = admin_token(client, setup.admin_user)
    assert client.get(SITE_API, headers=bearer(token)).status_code == 200
    with store.transaction() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.token_sha256 == token_digest(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert _error(client.get(SITE_API, headers=bearer(token)), 401) == "unauthenticated"
    assert _error(client.get(SITE_API, headers=bearer("x" * 43)), 401) == "unauthenticated"
    assert _error(client.get(SITE_API, headers={"Authorization": "Basic abc"}), 401)


def test_replayed_resident_code(client: TestClient, store: Store, setup: Setup) -> None:
    subject = consented_subject(store, SITE)
    code = store.accounts.issue_signin_code(subject.id, actor="admin:test")
    assert client.post(f"{API}/auth/resident", json={"site": SITE, "code": code}).is_success
    client.cookies.clear()  # the replay is a fresh client's, not a cookie-signed request
    replay = client.post(f"{API}/auth/resident", json={"site": SITE, "code": code})
    assert _error(replay, 401) == "unauthenticated"
    junk = client.post(f"{API}/auth/resident", json={"site": SITE, "code": "abc"})
    assert _error(junk, 401) == "unauthenticated"


def test_oversized_upload(client: TestClient, admin: dict[str, str], store: Store) -> None:
    subject = consented_subject(store, SITE)
    big = b"\0" * (store.settings.max_upload_bytes + 1)
    response = client.post(
        f"{SITE_API}/subjects/{subject.id}/enrollments",
        files=[("images", ("big.png", big, "image/png"))],
        headers=admin,
    )
    assert _error(response, 413) == "request_too_large"
    json_instead = client.post(
        f"{SITE_API}/subjects/{subject.id}/enrollments", json={"images": []}, headers=admin
    )
    assert _error(json_instead, 422) == "invalid_request"


def test_pins_that_break_the_rules(client: TestClient, store: Store, setup: Setup) -> None:
    subject = consented_subject(store, SITE)
    headers = bearer(resident_token(client, store, SITE, subject.id))
    for pin in ("12345678901234", "12ab56", "1234", "000000"):
        response = client.post(f"{API}/me/credentials/pin", json={"pin": pin}, headers=headers)
        assert _error(response, 422) == "invalid_record", pin
        assert pin not in response.text
    admin = bearer(admin_token(client, setup.admin_user))
    response = client.post(
        f"{SITE_API}/subjects/{subject.id}/credentials/pin",
        json={"pin": "12345678901234"},
        headers=admin,
    )
    assert _error(response, 422) == "invalid_record"


def test_consent_for_a_stale_or_missing_notice(
    client: TestClient, store: Store, setup: Setup
) -> None:
    subject = consented_subject(store, SITE)
    headers = bearer(resident_token(client, store, SITE, subject.id))
    missing_field = client.post(f"{API}/me/consent", json={"accept": True}, headers=headers)
    assert _error(missing_field, 422) == "invalid_request"
    unknown = client.post(
        f"{API}/me/consent", json={"accept": True, "notice_version": "1999"}, headers=headers
    )
    assert _error(unknown, 404) == "not_found"
