"""Staff accounts and roles: an administrator manages their site's staff; every change is
audited and ends the account's sessions; the last active administrator stays; a session
carries its account's role; the lock-out says until when; a new tab finds its session."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from facegate.store import AuditAction, Store
from facegate.store.accounts import ADMIN_LOCKOUT, MAX_ADMIN_FAILURES
from facegate.store.schema import AuditEvent, utcnow
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import consented_subject

STAFF = f"{API}/sites/{SITE}/staff"
DESK_PASSWORD = "front desk password 1"


def _admin(client: TestClient, setup: Setup) -> dict[str, str]:
    return bearer(admin_token(client, setup.admin_user))


def _create(
    client: TestClient, headers: dict[str, str], username: str, role: str, **extra: str
) -> dict[str, object]:
    response = client.post(
        STAFF, headers=headers, json={"username": username, "role": role} | extra
    )
    assert response.status_code == 201, response.text
    made: dict[str, object] = response.json()
    return made


def _staff_events(store: Store) -> list[dict[str, object]]:
    """The detail of each staff event, oldest first."""
    actions = [AuditAction.ADMIN_CREATED.value, AuditAction.STAFF_CHANGED.value]
    with store.reading() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)
        )
        return [json.loads(row.detail) for row in rows]


@pytest.mark.rule("R-27")
def test_admin_creates_an_operator_whose_password_is_shown_once(
    client: TestClient, setup: Setup, store: Store
) -> None:
    headers = _admin(client, setup)
    made = _create(client, headers, "desk@sunny", "operator")
    password = made["password"]
    assert isinstance(password, str)
    assert len(password) >= 12
    staff = made["staff"]
    assert isinstance(staff, dict)
    assert (staff["username"], staff["role"], staff["disabled_at"]) == (
        "desk@sunny",
        "operator",
        None,
    )
    listed = client.get(STAFF, headers=headers).json()
    assert [(s["username"], s["role"]) for s in listed] == [
        (setup.admin_user, "admin"),
        ("desk@sunny", "operator"),
    ]
    # Nobody sees a password or its hash again.
    assert password not in client.get(STAFF, headers=headers).text
    assert all("hash" not in key and "password" not in key for s in listed for key in s)
    # The new account signs in with its role.
    signed = client.post(
        f"{API}/auth/admin", json={"username": "desk@sunny", "password": password}
    ).json()
    client.cookies.clear()
    assert (signed["role"], signed["site"]) == ("operator", SITE)
    assert {"admin_id": staff["id"], "role": "operator"}.items() <= _staff_events(store)[-1].items()


def test_an_administrator_may_choose_the_password_under_the_policy(
    client: TestClient, setup: Setup
) -> None:
    headers = _admin(client, setup)
    weak = client.post(
        STAFF, headers=headers, json={"username": "a@b", "role": "auditor", "password": "short"}
    )
    assert weak.status_code == 422
    assert weak.json()["error"]["code"] == "invalid_record"
    made = _create(client, headers, "audit@sunny", "auditor", password=DESK_PASSWORD)
    assert made["password"] is None
    assert admin_token(client, "audit@sunny", DESK_PASSWORD)
    resident = client.post(STAFF, headers=headers, json={"username": "r@b", "role": "resident"})
    assert resident.status_code == 422
    taken = client.post(STAFF, headers=headers, json={"username": "audit@sunny", "role": "admin"})
    assert taken.status_code == 409


@pytest.mark.rule("R-27")
def test_role_change_disable_and_enable_end_sessions_and_are_audited(
    client: TestClient, setup: Setup, store: Store
) -> None:
    headers = _admin(client, setup)
    made = _create(client, headers, "desk@sunny", "operator", password=DESK_PASSWORD)
    staff = made["staff"]
    assert isinstance(staff, dict)
    path = f"{STAFF}/{staff['id']}"
    desk = bearer(admin_token(client, "desk@sunny", DESK_PASSWORD))
    assert client.get(f"{API}/sites/{SITE}/subjects", headers=desk).status_code == 200

    changed = client.post(path, headers=headers, json={"role": "auditor"})
    assert changed.status_code == 200
    assert changed.json()["role"] == "auditor"
    assert client.get(f"{API}/sites/{SITE}/subjects", headers=desk).status_code == 401

    auditor = bearer(admin_token(client, "desk@sunny", DESK_PASSWORD))
    assert client.get(f"{API}/sites/{SITE}/subjects", headers=auditor).status_code == 403
    assert client.get(f"{API}/sites/{SITE}/decisions", headers=auditor).status_code == 200

    disabled = client.post(path, headers=headers, json={"disabled": True})
    assert disabled.json()["disabled_at"] is not None
    assert client.get(f"{API}/sites/{SITE}/decisions", headers=auditor).status_code == 401
    refused = client.post(
        f"{API}/auth/admin", json={"username": "desk@sunny", "password": DESK_PASSWORD}
    )
    assert refused.status_code == 401
    assert refused.json()["error"].get("reason") != "locked"  # disabled reads as a wrong password

    enabled = client.post(path, headers=headers, json={"disabled": False})
    assert enabled.json()["disabled_at"] is None
    assert admin_token(client, "desk@sunny", DESK_PASSWORD)
    events = _staff_events(store)
    assert [e.get("role") for e in events[-3:]] == ["auditor", None, None]
    assert [e.get("disabled") for e in events[-3:]] == [None, True, False]
    assert events[-3]["sessions_ended"] == 1


def test_the_last_active_administrator_cannot_be_demoted_or_disabled(
    client: TestClient, setup: Setup, store: Store
) -> None:
    headers = _admin(client, setup)
    me = next(s for s in client.get(STAFF, headers=headers).json() if s["role"] == "admin")
    before = store.verify_audit().events_checked
    for change in ({"role": "operator"}, {"disabled": True}):
        response = client.post(f"{STAFF}/{me['id']}", headers=headers, json=change)
        assert response.status_code == 409
        assert response.json()["error"]["reason"] == "last_admin"
    assert store.verify_audit().events_checked == before
    # With a second administrator, the first may step down.
    _create(client, headers, "second@sunny", "admin", password=DESK_PASSWORD)
    response = client.post(f"{STAFF}/{me['id']}", headers=headers, json={"role": "operator"})
    assert response.status_code == 200
    # Its own session ended with the change.
    assert client.get(STAFF, headers=headers).status_code == 401


def test_reset_password_ends_sessions_and_lifts_the_lock(
    client: TestClient, setup: Setup, store: Store
) -> None:
    headers = _admin(client, setup)
    made = _create(client, headers, "desk@sunny", "operator", password=DESK_PASSWORD)
    staff = made["staff"]
    assert isinstance(staff, dict)
    desk = bearer(admin_token(client, "desk@sunny", DESK_PASSWORD))
    for _ in range(MAX_ADMIN_FAILURES):
        client.post(f"{API}/auth/admin", json={"username": "desk@sunny", "password": "wrong"})
    reset = client.post(f"{STAFF}/{staff['id']}/password", headers=headers, json={})
    assert reset.status_code == 200
    new = reset.json()["password"]
    assert isinstance(new, str)
    assert reset.json()["staff"]["locked_until"] is None
    assert client.get(f"{API}/sites/{SITE}/subjects", headers=desk).status_code == 401
    assert admin_token(client, "desk@sunny", new)
    refused = client.post(
        f"{API}/auth/admin", json={"username": "desk@sunny", "password": DESK_PASSWORD}
    )
    assert refused.status_code == 401


def test_staff_of_another_site_is_not_found(client: TestClient, setup: Setup) -> None:
    other = bearer(admin_token(client, f"admin@{OTHER_SITE}"))
    theirs = client.get(f"{API}/sites/{OTHER_SITE}/staff", headers=other).json()
    headers = _admin(client, setup)
    response = client.post(f"{STAFF}/{theirs[0]['id']}", headers=headers, json={"disabled": True})
    assert response.status_code == 404
    assert client.post(f"{STAFF}/{theirs[0]['id']}/password", headers=headers).status_code == 404


def test_an_operator_deletes_nothing_and_changes_no_setting(
    client: TestClient, setup: Setup, store: Store
) -> None:
    headers = _admin(client, setup)
    _create(client, headers, "desk@sunny", "operator", password=DESK_PASSWORD)
    desk = bearer(admin_token(client, "desk@sunny", DESK_PASSWORD))
    subject = consented_subject(store, SITE)
    before = store.verify_audit().events_checked
    refused = [
        client.delete(f"{API}/sites/{SITE}/subjects/{subject.id}", headers=desk),
        client.post(f"{API}/sites/{SITE}/subjects/{subject.id}/move-out", headers=desk),
        client.put(
            f"{API}/sites/{SITE}/retention/policy",
            headers=desk,
            json={"resident_retention_days": 1},
        ),
        client.post(f"{API}/sites/{SITE}/retention/run", headers=desk),
        client.post(
            f"{API}/sites/{SITE}/devices", headers=desk, json={"name": "x", "gates": ["main"]}
        ),
        client.get(STAFF, headers=desk),
        client.post(STAFF, headers=desk, json={"username": "x@y", "role": "admin"}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert {r.json()["error"]["reason"] for r in refused} == {"needs_admin"}
    assert store.verify_audit().events_checked == before
    # What the front desk is for still works.
    added = client.post(
        f"{API}/sites/{SITE}/subjects",
        headers=desk,
        json={"name": "Li Lei", "kind": "resident", "adult": True},
    )
    assert added.status_code == 201
    assert store.get_subject(subject.id).status.value == "active"


def test_an_auditor_changes_nothing(client: TestClient, setup: Setup, store: Store) -> None:
    headers = _admin(client, setup)
    _create(client, headers, "audit@sunny", "auditor", password=DESK_PASSWORD)
    auditor = bearer(admin_token(client, "audit@sunny", DESK_PASSWORD))
    subject = consented_subject(store, SITE)
    before = store.verify_audit().events_checked
    refused = [
        client.post(
            f"{API}/sites/{SITE}/subjects",
            headers=auditor,
            json={"name": "Li Lei", "kind": "resident", "adult": True},
        ),
        client.post(f"{API}/sites/{SITE}/subjects/{subject.id}/credentials/otp", headers=auditor),
        client.delete(f"{API}/sites/{SITE}/subjects/{subject.id}", headers=auditor),
        client.get(f"{API}/sites/{SITE}/subjects", headers=auditor),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert store.verify_audit().events_checked == before
    assert client.get(f"{API}/sites/{SITE}/decisions", headers=auditor).status_code == 200
    assert client.get(f"{API}/sites/{SITE}/compliance", headers=auditor).status_code == 200


def test_a_locked_account_is_told_until_when(client: TestClient, setup: Setup) -> None:
    started = utcnow()
    for _ in range(MAX_ADMIN_FAILURES):
        wrong = client.post(
            f"{API}/auth/admin", json={"username": setup.admin_user, "password": "wrong pass"}
        )
        assert "until" not in wrong.json()["error"]
    locked = client.post(
        f"{API}/auth/admin", json={"username": setup.admin_user, "password": ADMIN_PASSWORD}
    )
    assert locked.status_code == 401
    error = locked.json()["error"]
    assert error["reason"] == "locked"
    until = datetime.fromisoformat(error["until"])
    assert started + ADMIN_LOCKOUT <= until <= utcnow() + ADMIN_LOCKOUT
    # A wrong password while locked gets the same answer (no oracle for guessing).
    guess = client.post(
        f"{API}/auth/admin", json={"username": setup.admin_user, "password": "another guess"}
    )
    assert guess.json() == locked.json()
    # An unknown username is refused like a wrong password, never "locked".
    unknown = client.post(
        f"{API}/auth/admin", json={"username": "nobody@nowhere", "password": "wrong pass"}
    )
    assert "until" not in unknown.json()["error"]
    assert unknown.json()["error"].get("reason") == wrong.json()["error"].get("reason")


def test_the_session_endpoint_says_who_is_signed_in(client: TestClient, setup: Setup) -> None:
    assert client.get(f"{API}/auth/session").status_code == 401
    signed = client.post(
        f"{API}/auth/admin", json={"username": setup.admin_user, "password": ADMIN_PASSWORD}
    )
    # The cookie alone, as a new tab has it.
    held = client.get(f"{API}/auth/session")
    assert held.status_code == 200
    body = held.json()
    assert set(body) == {"role", "site", "expires_at"}
    assert (body["role"], body["site"]) == ("admin", SITE)
    assert body["expires_at"] == signed.json()["expires_at"]
    assert signed.json()["token"] not in held.text
    ended = client.post(f"{API}/auth/logout", headers={"Origin": str(client.base_url)})
    assert ended.status_code == 200
    assert client.get(f"{API}/auth/session").status_code == 401
