"""Signing in and out: admin passwords, resident one-time codes, cookies, rate limits."""

from __future__ import annotations

from fastapi.testclient import TestClient

from facegate.api.ratelimit import SIGNIN_ATTEMPTS
from facegate.store import Store
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.api.signin import API, admin_token, bearer, resident_token
from tests.store.helpers import consented_subject


def test_admin_signs_in_with_a_session_cookie_and_a_token(client: TestClient, setup: Setup) -> None:
    response = client.post(
        f"{API}/auth/admin", json={"username": setup.admin_user, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "role", "site", "expires_at"}
    assert (body["role"], body["site"]) == ("admin", SITE)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"facegate_session={body['token']};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # development settings
    # The cookie alone is a session (pages); the bearer token too (API).
    assert client.get(f"{API}/sites/{SITE}").status_code == 200
    client.cookies.clear()
    assert client.get(f"{API}/sites/{SITE}").status_code == 401
    assert client.get(f"{API}/sites/{SITE}", headers=bearer(body["token"])).status_code == 200


def test_wrong_password_and_unknown_user_are_refused_alike(
    client: TestClient, setup: Setup
) -> None:
    wrong = client.post(
        f"{API}/auth/admin", json={"username": setup.admin_user, "password": "not the password"}
    )
    unknown = client.post(
        f"{API}/auth/admin", json={"username": "nobody@nowhere", "password": ADMIN_PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "unauthenticated"
    assert "set-cookie" not in wrong.headers


def test_account_locks_after_repeated_failures(client: TestClient, setup: Setup) -> None:
    for _ in range(5):
        response = client.post(
            f"{API}/auth/admin", json={"username": setup.admin_user, "password": "wrong password"}
        )
        assert response.status_code == 401
    locked = client.post(
        f"{API}/auth/admin", json={"username": setup.admin_user, "password": ADMIN_PASSWORD}
    )
    assert locked.status_code == 401


def test_signin_attempts_are_rate_limited_per_address(client: TestClient, setup: Setup) -> None:
    body = {"site": SITE, "code": "00000000"}
    statuses = [
        client.post(f"{API}/auth/resident", json=body).status_code
        for _ in range(SIGNIN_ATTEMPTS.events + 1)
    ]
    assert statuses[:-1] == [401] * SIGNIN_ATTEMPTS.events
    assert statuses[-1] == 429
    limited = client.post(f"{API}/auth/resident", json=body)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    # The admin sign-in shares the limit: same address.
    response = client.post(
        f"{API}/auth/admin", json={"username": setup.admin_user, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 429


def test_resident_signs_in_once_with_a_code(client: TestClient, store: Store, setup: Setup) -> None:
    subject = consented_subject(store, SITE)
    code = store.accounts.issue_signin_code(subject.id, actor="admin:test")
    response = client.post(f"{API}/auth/resident", json={"site": SITE, "code": code})
    assert response.status_code == 200
    body = response.json()
    assert (body["role"], body["site"]) == ("resident", SITE)
    client.cookies.clear()
    me = client.get(f"{API}/me", headers=bearer(body["token"]))
    assert me.json()["subject"]["id"] == subject.id
    replay = client.post(f"{API}/auth/resident", json={"site": SITE, "code": code})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "unauthenticated"


def test_resident_code_is_bound_to_its_site(client: TestClient, store: Store, setup: Setup) -> None:
    subject = consented_subject(store, SITE)
    code = store.accounts.issue_signin_code(subject.id, actor="admin:test")
    other = client.post(f"{API}/auth/resident", json={"site": OTHER_SITE, "code": code})
    unknown_site = client.post(f"{API}/auth/resident", json={"site": "no-such", "code": code})
    assert other.status_code == unknown_site.status_code == 401
    # Not spent by the failed attempts.
    assert client.post(f"{API}/auth/resident", json={"site": SITE, "code": code}).status_code == 200


def test_logout_ends_the_session(client: TestClient, store: Store, setup: Setup) -> None:
    token = admin_token(client, setup.admin_user)
    response = client.post(f"{API}/auth/logout", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"signed_out": True}
    assert client.get(f"{API}/sites/{SITE}", headers=bearer(token)).status_code == 401
    assert client.post(f"{API}/auth/logout", headers=bearer(token)).status_code == 401
    subject = consented_subject(store, SITE)
    resident = resident_token(client, store, SITE, subject.id)
    assert client.post(f"{API}/auth/logout", headers=bearer(resident)).status_code == 200
    assert client.get(f"{API}/me", headers=bearer(resident)).status_code == 401


def test_signins_are_audited_with_the_principal(
    client: TestClient, store: Store, setup: Setup
) -> None:
    subject = consented_subject(store, SITE)
    resident_token(client, store, SITE, subject.id)
    actions = [(e.actor, e.action) for e in store.audit_events(subject.id)]
    assert (f"resident:{subject.id}", "session.signed_in") in actions
