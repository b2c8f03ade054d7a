"""A session ends with what it stood on: the resident's record, their residence, the password.

Deleting a subject or their move-out ends their self-service sessions and sign-in codes in
the same transaction; a new admin password ends that admin's sessions. Withdrawing face
consent ends the resident's sessions too, except the one that asked for it: the resident
stays, with their card, PIN and self-service (R-08).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from facegate.store import Store, SubjectKind
from facegate.store.schema import Subject, utcnow
from tests.api.conftest import ADMIN_PASSWORD, SITE, Setup
from tests.api.signin import API, admin_token, bearer, resident_token
from tests.store.helpers import OPERATOR, enrolled_subject

SITE_API = f"{API}/sites/{SITE}"
NEW_PASSWORD = "a fresh and longer passphrase"


def _me_and_export(client: TestClient, token: str) -> tuple[int, int]:
    headers = bearer(token)
    return (
        client.get(f"{API}/me", headers=headers).status_code,
        client.get(f"{API}/me/export", headers=headers).status_code,
    )


@pytest.mark.rule("R-23")
def test_r23_deleting_a_resident_ends_their_session_and_sign_in_codes(
    client: TestClient, store: Store, setup: Setup
) -> None:
    subject = store.add_subject(SITE, "Han Meimei", SubjectKind.RESIDENT, actor=OPERATOR)
    token = resident_token(client, store, SITE, subject.id)
    code = store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    assert _me_and_export(client, token) == (200, 200)
    admin = bearer(admin_token(client, setup.admin_user))
    deleted = client.delete(f"{SITE_API}/subjects/{subject.id}?reason=request", headers=admin)
    assert deleted.status_code == 200, deleted.text
    assert _me_and_export(client, token) == (401, 401)
    signin = client.post(f"{API}/auth/resident", json={"site": SITE, "code": code})
    assert signin.status_code == 401


@pytest.mark.rule("R-24")
def test_r24_a_move_out_ends_the_residents_session(
    client: TestClient, store: Store, setup: Setup
) -> None:
    subject = store.add_subject(SITE, "Han Meimei", SubjectKind.RESIDENT, actor=OPERATOR)
    token = resident_token(client, store, SITE, subject.id)
    admin = bearer(admin_token(client, setup.admin_user))
    moved = client.post(f"{SITE_API}/subjects/{subject.id}/move-out", headers=admin)
    assert moved.status_code == 200, moved.text
    assert _me_and_export(client, token) == (401, 401)


@pytest.mark.rule("R-05")
def test_r05_a_withdrawal_recorded_by_the_office_ends_the_residents_sessions(
    client: TestClient, store: Store, setup: Setup
) -> None:
    subject, _ = enrolled_subject(store, count=1, name="Han Meimei")
    token = resident_token(client, store, SITE, subject.id)
    admin = bearer(admin_token(client, setup.admin_user))
    withdrawn = client.post(f"{SITE_API}/subjects/{subject.id}/consents/withdraw", headers=admin)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["receipt"]["templates_deleted"] == 1
    assert _me_and_export(client, token) == (401, 401)


@pytest.mark.rule("R-05", "R-08")
def test_r05_r08_a_resident_who_withdraws_keeps_the_session_that_asked_and_no_other(
    client: TestClient, store: Store, setup: Setup
) -> None:
    # Withdrawal erases the face data, not the person: the session that withdrew stays, to
    # get a PIN instead; a session left open elsewhere (a shared tablet) ends.
    subject, _ = enrolled_subject(store, count=1, name="Han Meimei")
    asking = resident_token(client, store, SITE, subject.id)
    elsewhere = resident_token(client, store, SITE, subject.id)
    withdrawn = client.post(f"{API}/me/consent/withdraw", headers=bearer(asking))
    assert withdrawn.status_code == 200, withdrawn.text
    assert _me_and_export(client, asking) == (200, 200)
    assert _me_and_export(client, elsewhere) == (401, 401)
    pin = client.post(f"{API}/me/credentials/pin", json={"pin": "480213"}, headers=bearer(asking))
    assert pin.status_code == 201


def test_a_visitors_session_ends_with_their_stay(
    client: TestClient, store: Store, setup: Setup
) -> None:
    # Nothing writes when a stay ends by itself: the session check refuses it (defence in
    # depth, as for any change that forgot to end the session).
    visitor = store.add_subject(
        SITE, "Li Lei", SubjectKind.VISITOR, expires_at=utcnow() + timedelta(hours=2),
        actor=OPERATOR,
    )  # fmt: skip
    token = resident_token(client, store, SITE, visitor.id)
    assert _me_and_export(client, token) == (200, 200)
    with store.transaction() as session:
        session.execute(
            update(Subject)
            .where(Subject.id == visitor.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert _me_and_export(client, token) == (401, 401)


def test_a_reset_admin_password_ends_that_admins_sessions(
    client: TestClient, store: Store, setup: Setup
) -> None:
    token = admin_token(client, setup.admin_user)
    other_admin = admin_token(client, "admin@north-gate")
    assert client.get(SITE_API, headers=bearer(token)).status_code == 200
    store.accounts.set_admin_password(setup.admin_user, NEW_PASSWORD, actor=OPERATOR)
    assert client.get(SITE_API, headers=bearer(token)).status_code == 401
    assert client.get(f"{API}/sites/north-gate", headers=bearer(other_admin)).status_code == 200
    refused = client.post(
        f"{API}/auth/admin", json={"username": setup.admin_user, "password": ADMIN_PASSWORD}
    )
    assert refused.status_code == 401
    fresh = admin_token(client, setup.admin_user, NEW_PASSWORD)
    assert client.get(SITE_API, headers=bearer(fresh)).status_code == 200
