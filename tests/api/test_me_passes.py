"""Visitor passes through the API: a resident makes one, the visitor uses it at the gate's
one-time-code entry once, the resident lists and revokes; and the limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from facegate.store import Store, SubjectKind
from facegate.store.passes import MAX_PASS_GATES
from facegate.store.schema import GATE_CODE_LENGTH
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import decide
from tests.api.signin import API, admin_token, bearer, resident_token
from tests.store.helpers import OPERATOR

PASSES = f"{API}/me/passes"


def _window(start_in: timedelta = timedelta(0), hours: float = 3) -> dict[str, Any]:
    start = datetime.now(UTC) + start_in
    return {
        "gates": ["main"],
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(hours=hours)).isoformat(),
    }


@pytest.fixture
def resident(client: TestClient, store: Store, setup: Setup) -> tuple[str, dict[str, str]]:
    subject = store.add_subject(SITE, "Han Meimei", SubjectKind.RESIDENT, actor=OPERATOR)
    return subject.id, bearer(resident_token(client, store, SITE, subject.id))


def test_a_pass_opens_the_gate_once_and_is_listed_as_used(
    client: TestClient, store: Store, setup: Setup, resident: tuple[str, dict[str, str]]
) -> None:
    _subject_id, headers = resident
    gates = client.get(f"{PASSES}/gates", headers=headers)
    assert gates.json() == [{"code": "main", "name": "Main gate"}]
    made = client.post(PASSES, json={**_window(), "label": "Aunt Li"}, headers=headers)
    assert made.status_code == 201, made.text
    body = made.json()
    code = body["code"]
    assert code.isdigit()
    assert len(code) == 8
    assert body["qr_svg"].startswith("<svg")
    assert 'xmlns="http://www.w3.org/2000/svg"' in body["qr_svg"]
    assert body["visitor_pass"]["status"] == "active"
    # The pass is the visitor's way in, not one of the resident's own credentials.
    assert client.get(f"{API}/me", headers=headers).json()["credentials"] == []
    listed = client.get(PASSES, headers=headers).json()
    assert [p["label"] for p in listed] == ["Aunt Li"]
    assert code not in client.get(PASSES, headers=headers).text
    opened = decide(client, setup.device_key, "otp", secret=code)
    assert (opened.json()["outcome"], opened.json()["reason"]) == ("open", "ok")
    again = decide(client, setup.device_key, "otp", secret=code)
    assert (again.json()["outcome"], again.json()["reason"]) == ("deny", "used")
    assert client.get(PASSES, headers=headers).json()[0]["status"] == "used"
    # The resident's export lists the pass (never its code) and the decision with its marker.
    export = client.get(f"{API}/me/export", headers=headers).json()
    assert [p["status"] for p in export["visitor_passes"]] == ["used"]
    # The page that prints it lists the pass's code with the passes, not as the resident's.
    assert export["visitor_passes"][0]["credential_id"] in {c["id"] for c in export["credentials"]}
    assert code not in str(export)
    marked = [e for e in export["audit_events"] if e["detail"].get("visitor_pass")]
    assert {e["action"] for e in marked} == {"credential.issued", "decision.credential"}


def test_a_resident_revokes_their_pass_and_not_anothers(
    client: TestClient, store: Store, setup: Setup, resident: tuple[str, dict[str, str]]
) -> None:
    _, headers = resident
    made = client.post(PASSES, json=_window(), headers=headers).json()
    other = store.add_subject(SITE, "Li Lei", SubjectKind.RESIDENT, actor=OPERATOR)
    other_headers = bearer(resident_token(client, store, SITE, other.id))
    pass_id = made["visitor_pass"]["id"]
    stranger = client.post(f"{PASSES}/{pass_id}/revoke", headers=other_headers)
    assert stranger.status_code == 404
    revoked = client.post(f"{PASSES}/{pass_id}/revoke", headers=headers)
    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    refused = decide(client, setup.device_key, "otp", secret=made["code"])
    assert (refused.json()["outcome"], refused.json()["reason"]) == ("deny", "revoked")


def test_limits_give_reasons_the_page_words(
    client: TestClient, store: Store, setup: Setup, resident: tuple[str, dict[str, str]]
) -> None:
    _, headers = resident
    too_long = client.post(PASSES, json=_window(hours=30), headers=headers)
    assert (too_long.status_code, too_long.json()["error"]["reason"]) == (422, "pass_too_long")
    too_far = client.post(PASSES, json=_window(timedelta(days=9)), headers=headers)
    assert too_far.json()["error"]["reason"] == "pass_too_far"
    for _ in range(5):
        assert client.post(PASSES, json=_window(), headers=headers).status_code == 201
    sixth = client.post(PASSES, json=_window(), headers=headers)
    assert (sixth.status_code, sixth.json()["error"]["reason"]) == (409, "too_many_passes")
    naive = {**_window(), "valid_from": "2026-12-09T10:00:00"}
    assert client.post(PASSES, json=naive, headers=headers).status_code == 422


def test_gate_codes_are_bounded_and_never_echoed(
    client: TestClient, store: Store, setup: Setup, resident: tuple[str, dict[str, str]]
) -> None:
    _, headers = resident
    huge = "G" * 10_000
    too_long = client.post(PASSES, json={**_window(), "gates": ["main", huge]}, headers=headers)
    assert too_long.status_code == 422
    error = too_long.json()["error"]
    assert error["code"] == "invalid_request"
    assert [p["where"] for p in error["problems"]] == ["body.gates.1"]
    assert huge not in too_long.text
    assert len(too_long.content) < 1_000
    # The longest code a gate can have is checked against the site, and not echoed either.
    longest = "g" * GATE_CODE_LENGTH
    unknown = client.post(PASSES, json={**_window(), "gates": [longest]}, headers=headers)
    assert unknown.status_code == 404
    error = unknown.json()["error"]
    assert (error["code"], error["reason"]) == ("not_found", "pass_unknown_gate")
    assert longest not in unknown.text
    too_many = [f"gate-{n}" for n in range(MAX_PASS_GATES + 1)]
    listed = client.post(PASSES, json={**_window(), "gates": too_many}, headers=headers)
    assert listed.status_code == 422
    assert client.get(PASSES, headers=headers).json() == []


def test_creation_is_rate_limited(
    client: TestClient, store: Store, setup: Setup, resident: tuple[str, dict[str, str]]
) -> None:
    _, headers = resident
    for _ in range(10):
        made = client.post(PASSES, json=_window(), headers=headers)
        assert made.status_code == 201, made.text
        client.post(f"{PASSES}/{made.json()['visitor_pass']['id']}/revoke", headers=headers)
    limited = client.post(PASSES, json=_window(), headers=headers)
    assert limited.status_code == 429


def test_a_retried_create_is_done_once(
    client: TestClient, store: Store, setup: Setup, resident: tuple[str, dict[str, str]]
) -> None:
    _, headers = resident
    keyed = {**headers, "Idempotency-Key": "pass-retry-1"}
    body = _window()
    assert client.post(PASSES, json=body, headers=keyed).status_code == 201
    retried = client.post(PASSES, json=body, headers=keyed)
    # The first answer held the code (shown once): the retry is told it was a duplicate.
    assert retried.status_code == 409
    assert len(client.get(PASSES, headers=headers).json()) == 1


def test_a_resident_who_moved_out_cannot_make_passes(
    client: TestClient, store: Store, setup: Setup, resident: tuple[str, dict[str, str]]
) -> None:
    subject_id, headers = resident
    made = client.post(PASSES, json=_window(), headers=headers).json()
    store.retention.record_move_out(subject_id, actor=OPERATOR)
    # Moving out ends the resident's sessions: a fresh sign-in is refused too.
    assert client.post(PASSES, json=_window(), headers=headers).status_code == 401
    refused = decide(client, setup.device_key, "otp", secret=made["code"])
    assert refused.json()["reason"] == "subject_inactive"


def test_staff_cannot_read_a_residents_passes(
    client: TestClient, setup: Setup, resident: tuple[str, dict[str, str]]
) -> None:
    admin = bearer(admin_token(client, setup.admin_user))
    assert client.get(PASSES, headers=admin).status_code == 403
