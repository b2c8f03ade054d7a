"""A property company's operator account through the API (``routes/operator_accounts``),
on SQLite and on PostgreSQL.

The company runs two sites (``SITE`` and ``EAST``); ``OTHER_SITE`` is another company's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from facegate.core.config import Environment, Settings
from facegate.store import Store
from facegate.store.audit import AuditAction
from facegate.store.operator_accounts import ACTOR_PREFIX, OperatorAccountInfo
from facegate.store.schema import AuditEvent
from tests.api.conftest import OTHER_SITE, SITE, Setup
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import MODEL, OPERATOR, consented_subject, random_embeddings, ready_site

COMPANY = "Sunny Property Co."
EAST = "sunny-east"
USERNAME = "ops@sunny"
PASSWORD = "a long operator passphrase"
OPS = f"{API}/operator-account"


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """SQLite in the data dir, or a fresh PostgreSQL database (skips without one)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return Settings(data_dir=tmp_path / "data", env=Environment.DEVELOPMENT, database_url=url)


@pytest.fixture
def account(store: Store, setup: Setup) -> OperatorAccountInfo:
    ready_site(store, EAST, "Sunny East")
    for code in (SITE, EAST):
        store.operator_accounts.assign_site(code, COMPANY, actor=OPERATOR)
    return store.operator_accounts.create(COMPANY, USERNAME, PASSWORD, actor=OPERATOR)


def _sign_in(client: TestClient) -> str:
    response = client.post(f"{OPS}/auth", json={"username": USERNAME, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["organisation"] == COMPANY
    client.cookies.clear()
    token: str = response.json()["token"]
    return token


def _enroll(store: Store, site: str, seed: int) -> None:
    subject = consented_subject(store, site_code=site, name=f"Person {seed}")
    store.enroll(subject.id, random_embeddings(1, seed), MODEL, [0.9], OPERATOR)


def test_sign_in_is_refused_alike_for_a_wrong_password_and_no_account(
    client: TestClient, account: OperatorAccountInfo
) -> None:
    for username in (USERNAME, "nobody@sunny"):
        response = client.post(
            f"{OPS}/auth", json={"username": username, "password": "not the password"}
        )
        assert response.status_code == 401
        assert response.json()["error"]["reason"] == "sign_in_failed"


@pytest.mark.rule("R-31")
def test_the_company_sees_its_sites_and_the_filing_count(
    client: TestClient, store: Store, account: OperatorAccountInfo
) -> None:
    _enroll(store, SITE, 1)
    _enroll(store, EAST, 2)
    _enroll(store, EAST, 3)
    _enroll(store, OTHER_SITE, 4)
    response = client.get(f"{OPS}/sites", headers=bearer(_sign_in(client)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(s["code"], s["enrolled_people"]) for s in body["sites"]] == [(EAST, 2), (SITE, 1)]
    assert (body["organisation"], body["enrolled_people"], body["filing_due"]) == (
        COMPANY,
        store.filing.operator_status(COMPANY).enrolled_people,
        False,
    )
    assert body["enrolled_people"] == 3
    assert OTHER_SITE not in response.text
    assert "North Gate" not in response.text


def test_a_site_session_administers_its_own_site_and_no_other(
    client: TestClient, account: OperatorAccountInfo
) -> None:
    token = _sign_in(client)
    opened = client.post(f"{OPS}/sites/{SITE}/session", headers=bearer(token))
    assert opened.status_code == 201, opened.text
    assert (opened.json()["role"], opened.json()["site"]) == ("admin", SITE)
    client.cookies.clear()
    site_token = opened.json()["token"]
    assert client.get(f"{API}/sites/{SITE}/staff", headers=bearer(site_token)).status_code == 200
    other = client.get(f"{API}/sites/{OTHER_SITE}/staff", headers=bearer(site_token))
    assert (other.status_code, other.json()["error"]["reason"]) == (403, "other_site")
    foreign = client.post(f"{OPS}/sites/{OTHER_SITE}/session", headers=bearer(token))
    unknown = client.post(f"{OPS}/sites/no-such-site/session", headers=bearer(token))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"


def test_what_it_does_at_a_site_is_in_that_sites_audit_log(
    client: TestClient, store: Store, account: OperatorAccountInfo
) -> None:
    token = _sign_in(client)
    opened = client.post(f"{OPS}/sites/{SITE}/session", headers=bearer(token))
    client.cookies.clear()
    site_token = opened.json()["token"]
    made = client.post(
        f"{API}/sites/{SITE}/staff",
        json={"username": f"desk@{SITE}", "role": "operator"},
        headers=bearer(site_token),
    )
    assert made.status_code == 201, made.text
    with store.reading() as session:
        site_id = store.get_site(SITE).id
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.site_id == site_id).order_by(AuditEvent.id)
        ).all()
    opened_at, created = events[-2], events[-1]
    assert (opened_at.action, opened_at.actor) == (
        AuditAction.OPERATOR_SITE_SESSION.value,
        f"{ACTOR_PREFIX}:{account.id}",
    )
    # What the session does is the site administrator's act, by the operator account's id.
    assert (created.action, created.actor) == (
        AuditAction.ADMIN_CREATED.value,
        f"admin:{account.id}",
    )


def test_the_operator_token_itself_is_no_site_session(
    client: TestClient, account: OperatorAccountInfo
) -> None:
    token = _sign_in(client)
    response = client.get(f"{API}/sites/{SITE}", headers=bearer(token))
    assert (response.status_code, response.json()["error"]["reason"]) == (
        403,
        "needs_site_session",
    )


def test_staff_and_strangers_are_refused_on_the_operator_routes(
    client: TestClient, account: OperatorAccountInfo, setup: Setup
) -> None:
    staff = bearer(admin_token(client, setup.admin_user))
    response = client.get(f"{OPS}/sites", headers=staff)
    assert (response.status_code, response.json()["error"]["reason"]) == (
        403,
        "needs_operator_account",
    )
    assert client.get(f"{OPS}/sites").status_code == 401
    assert client.get(f"{OPS}/sites", headers=bearer("x" * 43)).status_code == 401


def test_signing_out_ends_the_operator_session(
    client: TestClient, account: OperatorAccountInfo
) -> None:
    token = _sign_in(client)
    opened = client.post(f"{OPS}/sites/{SITE}/session", headers=bearer(token))
    client.cookies.clear()
    site_token = opened.json()["token"]
    assert client.get(f"{API}/sites/{SITE}/staff", headers=bearer(site_token)).status_code == 200

    assert client.post(f"{OPS}/logout", headers=bearer(token)).status_code == 200
    assert client.get(f"{OPS}/sites", headers=bearer(token)).status_code == 401
    # The administrator's session it opened at the site ended with it.
    assert client.get(f"{API}/sites/{SITE}/staff", headers=bearer(site_token)).status_code == 401


def test_the_cookie_signs_in_the_pages(client: TestClient, account: OperatorAccountInfo) -> None:
    response = client.post(f"{OPS}/auth", json={"username": USERNAME, "password": PASSWORD})
    assert response.status_code == 200
    assert client.get(f"{OPS}/sites").status_code == 200
    opened = client.post(f"{OPS}/sites/{SITE}/session")
    assert opened.status_code == 201
    # The site session's cookie is the console's: the site's own routes accept it.
    assert client.get(f"{API}/sites/{SITE}").status_code == 200
