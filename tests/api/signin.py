"""Helpers of the admin and resident API tests: signing in and the headers to present."""

from __future__ import annotations

from fastapi.testclient import TestClient

from facegate.store import Store
from tests.api.conftest import ADMIN_PASSWORD
from tests.store.helpers import OPERATOR

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def admin_token(client: TestClient, username: str, password: str = ADMIN_PASSWORD) -> str:
    """An admin session token; the cookie the sign-in set is dropped (tests use headers)."""
    response = client.post(f"{API}/auth/admin", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    token: str = response.json()["token"]
    return token


def resident_token(client: TestClient, store: Store, site: str, subject_id: str) -> str:
    """A resident session token, through a sign-in code the front desk would hand over."""
    code = store.accounts.issue_signin_code(subject_id, actor=OPERATOR)
    response = client.post(f"{API}/auth/resident", json={"site": site, "code": code})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    token: str = response.json()["token"]
    return token
