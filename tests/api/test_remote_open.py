"""Opening a gate from the console: a reason from a fixed list is required (free text would
soon name a resident in a log erasure cannot reach), it is audited with who and why,
recorded as a ``remote`` decision in the log, and only the site's administrator may."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from facegate.api.i18n import strings
from facegate.store import Store
from facegate.store.accounts import Role
from facegate.store.audit import AuditAction
from facegate.store.decision_log import RemoteReason
from facegate.store.notices import Language
from facegate.store.schema import AuditEvent
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.api.signin import admin_token, bearer, resident_token
from tests.store.helpers import OPERATOR, consented_subject

OPEN = f"/api/v1/sites/{SITE}/gates/main/open"
WHY = "delivery"


def _remote_events(store: Store) -> list[AuditEvent]:
    with store.reading() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == AuditAction.DECISION_REMOTE.value)
            )
        )


@pytest.mark.rule("R-27")
def test_a_remote_opening_is_audited_with_who_and_why(
    client: TestClient, store: Store, setup: Setup
) -> None:
    token = admin_token(client, setup.admin_user)
    response = client.post(OPEN, json={"why": WHY}, headers=bearer(token))
    assert response.status_code == 201, response.text
    row = response.json()
    assert (row["kind"], row["outcome"], row["reason"]) == ("remote", "open", "remote_open")
    assert (row["person"], row["person_state"]) == (setup.admin_user, "staff")
    assert row["why"] == WHY
    assert row["gate_name"] == "Main gate"
    (event,) = _remote_events(store)
    assert event.actor.startswith("admin:")
    assert json.loads(event.detail)["why"] == WHY
    log = client.get(f"/api/v1/sites/{SITE}/decisions/log?kind=remote", headers=bearer(token))
    assert [r["id"] for r in log.json()["items"]] == [event.id]


@pytest.mark.parametrize(
    "body", [{}, {"why": ""}, {"why": "Zhang San of 3-201 forgot his card"}, {"why": 1}]
)
def test_a_reason_from_the_list_is_required(
    client: TestClient, store: Store, setup: Setup, body: dict[str, str]
) -> None:
    token = admin_token(client, setup.admin_user)
    response = client.post(OPEN, json=body, headers=bearer(token))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert _remote_events(store) == []


def test_an_unknown_gate_is_not_found(client: TestClient, store: Store, setup: Setup) -> None:
    token = admin_token(client, setup.admin_user)
    response = client.post(
        f"/api/v1/sites/{SITE}/gates/back-door/open", json={"why": WHY}, headers=bearer(token)
    )
    assert response.status_code == 404
    assert _remote_events(store) == []


def test_only_the_sites_administrator_may_open(
    client: TestClient, store: Store, setup: Setup
) -> None:
    other = admin_token(client, f"admin@{OTHER_SITE}")
    resident = consented_subject(store, SITE, name="Wang Fang")
    mine = resident_token(client, store, SITE, resident.id)
    assert client.post(OPEN, json={"why": WHY}).status_code == 401
    assert client.post(OPEN, json={"why": WHY}, headers=bearer(other)).status_code == 403
    assert client.post(OPEN, json={"why": WHY}, headers=bearer(mine)).status_code == 403
    assert _remote_events(store) == []


def test_an_auditor_reads_the_log_but_cannot_open(
    client: TestClient, store: Store, setup: Setup
) -> None:
    store.accounts.create_admin(
        SITE, f"auditor@{SITE}", ADMIN_PASSWORD, actor=OPERATOR, role=Role.AUDITOR
    )
    auditor = admin_token(client, f"auditor@{SITE}")
    assert client.post(OPEN, json={"why": WHY}, headers=bearer(auditor)).status_code == 403
    log = client.get(f"/api/v1/sites/{SITE}/decisions/log", headers=bearer(auditor))
    assert log.status_code == 200
    assert _remote_events(store) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_console_offers_every_reason_in_words(client: TestClient, lang: str) -> None:
    page = client.get(f"/admin?lang={lang}").text
    words = strings(Language(lang))
    for why in RemoteReason:
        assert f'<option value="{why.value}">{words[f"log_why_{why.value}"]}</option>' in page
