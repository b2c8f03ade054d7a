"""The admin API on the real app and a real SQLite store."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from facegate.privacy.notice_template import starter_notice
from facegate.store import Store
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import OTHER_SITE, SITE, Setup
from tests.api.gate_helpers import decide, use_pipeline
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import consented_subject

SITE_API = f"{API}/sites/{SITE}"


@pytest.fixture
def admin(client: TestClient, setup: Setup) -> dict[str, str]:
    return bearer(admin_token(client, setup.admin_user))


def _new_subject(client: TestClient, admin: dict[str, str], name: str = "Li Lei") -> str:
    response = client.post(
        f"{SITE_API}/subjects",
        json={"name": name, "kind": "resident", "adult": True},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    subject_id: str = response.json()["id"]
    return subject_id


def test_register_a_resident_record_consent_and_enroll(
    client: TestClient, admin: dict[str, str], pipeline: FacePipeline, face_png: bytes
) -> None:
    use_pipeline(client, pipeline)
    subject_id = _new_subject(client, admin)
    subject = client.get(f"{SITE_API}/subjects/{subject_id}", headers=admin).json()
    assert (subject["name"], subject["has_active_consent"], subject["template_count"]) == (
        "Li Lei",
        False,
        0,
    )
    files = [("images", ("a.png", face_png, "image/png"))]
    refused = client.post(
        f"{SITE_API}/subjects/{subject_id}/enrollments", files=files, headers=admin
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "consent_required")
    consent = client.post(
        f"{SITE_API}/subjects/{subject_id}/consents",
        json={"evidence": "scan:form-17", "method": "signature"},
        headers=admin,
    )
    assert consent.status_code == 201, consent.text
    assert consent.json()["usable"] is True
    assert consent.json()["collected_by"].startswith("admin:")
    enrolled = client.post(
        f"{SITE_API}/subjects/{subject_id}/enrollments", files=files, headers=admin
    )
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json() == {"subject_id": subject_id, "enrolled": 1}
    listed = client.get(f"{SITE_API}/subjects", headers=admin).json()
    assert [(s["id"], s["has_active_consent"], s["template_count"]) for s in listed] == [
        (subject_id, True, 1)
    ]
    withdrawn = client.post(f"{SITE_API}/subjects/{subject_id}/consents/withdraw", headers=admin)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["receipt"]["templates_deleted"] == 1
    after = client.get(f"{SITE_API}/subjects/{subject_id}", headers=admin).json()
    assert (after["has_active_consent"], after["template_count"]) == (False, 0)


def test_enrollment_rejects_images_without_one_face(
    client: TestClient, admin: dict[str, str], store: Store, pipeline: FacePipeline
) -> None:
    use_pipeline(client, pipeline)
    subject = consented_subject(store, SITE)
    url = f"{SITE_API}/subjects/{subject.id}/enrollments"
    broken = client.post(
        url, files=[("images", ("a.png", b"not an image", "image/png"))], headers=admin
    )
    assert broken.status_code == 422
    assert broken.json()["error"]["code"].startswith("image_")
    none = client.post(url, headers=admin)
    assert none.status_code == 422


def test_credentials_issue_list_and_revoke(
    client: TestClient, admin: dict[str, str], setup: Setup
) -> None:
    subject_id = _new_subject(client, admin)
    base = f"{SITE_API}/subjects/{subject_id}/credentials"
    card = client.post(f"{base}/card", json={"card_number": "0012345678"}, headers=admin)
    assert card.status_code == 201, card.text
    pin = client.post(f"{base}/pin", json={"pin": "580214"}, headers=admin)
    assert pin.status_code == 201, pin.text
    otp = client.post(f"{base}/otp", headers=admin)
    assert otp.status_code == 201
    assert set(otp.json()) == {"code", "expires_at"}
    listed = client.get(base, headers=admin).json()
    assert sorted(c["kind"] for c in listed) == ["card", "otp", "pin"]
    assert all(set(c) >= {"id", "status"} and "hash" not in json.dumps(c) for c in listed)
    # The card opens the gate, until it is revoked.
    assert decide(client, setup.device_key, "card", secret="0012345678").json()["outcome"] == "open"
    revoked = client.delete(f"{SITE_API}/credentials/{card.json()['id']}", headers=admin)
    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    assert decide(client, setup.device_key, "card", secret="0012345678").json()["outcome"] == "deny"
    decisions = client.get(f"{SITE_API}/decisions?limit=5", headers=admin).json()
    assert [d["detail"]["outcome"] for d in decisions] == ["deny", "open"]
    assert all("score" not in json.dumps(d) for d in decisions)


def test_signin_code_for_the_front_desk(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    subject_id = _new_subject(client, admin)
    issued = client.post(f"{SITE_API}/subjects/{subject_id}/signin-codes", headers=admin)
    assert issued.status_code == 201
    code = issued.json()["code"]
    signed_in = client.post(f"{API}/auth/resident", json={"site": SITE, "code": code})
    assert signed_in.status_code == 200
    assert signed_in.json()["role"] == "resident"


def test_move_out_export_and_delete(client: TestClient, admin: dict[str, str]) -> None:
    subject_id = _new_subject(client, admin)
    moved = client.post(f"{SITE_API}/subjects/{subject_id}/move-out", headers=admin)
    assert moved.status_code == 200
    exported = client.get(f"{SITE_API}/subjects/{subject_id}/export", headers=admin)
    assert exported.status_code == 200
    assert "Li Lei" in exported.text
    deleted = client.delete(f"{SITE_API}/subjects/{subject_id}?reason=request", headers=admin)
    assert deleted.status_code == 200
    assert (deleted.json()["reason"], deleted.json()["subject_erased"]) == ("request", True)
    tombstone = client.get(f"{SITE_API}/subjects/{subject_id}", headers=admin).json()
    assert (tombstone["status"], tombstone["name"]) == ("deleted", None)
    bad = client.delete(f"{SITE_API}/subjects/{subject_id}?reason=whim", headers=admin)
    assert bad.status_code == 422


def test_visitor_needs_an_expiry_and_subject_needs_age(
    client: TestClient, admin: dict[str, str]
) -> None:
    visitor = client.post(
        f"{SITE_API}/subjects",
        json={"name": "Guest", "kind": "visitor", "adult": True},
        headers=admin,
    )
    assert (visitor.status_code, visitor.json()["error"]["code"]) == (422, "invalid_record")
    no_age = client.post(
        f"{SITE_API}/subjects", json={"name": "X", "kind": "resident"}, headers=admin
    )
    assert no_age.status_code == 422
    child = client.post(
        f"{SITE_API}/subjects",
        json={"name": "Xiao Ming", "kind": "resident", "born": "2020-05-01"},
        headers=admin,
    )
    assert (child.status_code, child.json()["minor"]) == (201, True)


def test_notices_gates_devices(client: TestClient, admin: dict[str, str]) -> None:
    notices = client.get(f"{SITE_API}/notices", headers=admin).json()
    assert [n["version"] for n in notices] == ["2026-1"]
    content = json.loads(starter_notice("Sunny Garden", "Sunny Co.", "desk").to_json())
    published = client.post(
        f"{SITE_API}/notices", json={"version": "2026-2", "content": content}, headers=admin
    )
    assert published.status_code == 201, published.text
    assert published.json()["notice"]["seq"] == 2
    again = client.post(
        f"{SITE_API}/notices", json={"version": "2026-2", "content": content}, headers=admin
    )
    assert again.status_code == 409
    broken = client.post(
        f"{SITE_API}/notices",
        json={"version": "2026-3", "content": {"purposes": []}},
        headers=admin,
    )
    assert broken.status_code == 422

    gate = {
        "name": "Back gate",
        "accepts_face": True,
        "accepts_card": False,
        "accepts_pin": False,
        "accepts_otp": False,
    }
    face_only = client.put(f"{SITE_API}/gates/back", json=gate, headers=admin)
    assert (face_only.status_code, face_only.json()["error"]["code"]) == (409, "policy_refused")
    gate["accepts_card"] = True
    created = client.put(f"{SITE_API}/gates/back", json=gate, headers=admin)
    assert created.status_code == 200
    codes = [g["code"] for g in client.get(f"{SITE_API}/gates", headers=admin).json()]
    assert codes == ["back", "main"]

    registered = client.post(
        f"{SITE_API}/devices", json={"name": "Back kiosk", "gates": ["back"]}, headers=admin
    )
    assert registered.status_code == 201
    key = registered.json()["api_key"]
    device_id = registered.json()["device"]["id"]
    listed = client.get(f"{SITE_API}/devices", headers=admin)
    assert key not in listed.text
    assert len(listed.json()) == 2
    assert decide(client, key, "card", secret="00998877", gate="back").status_code == 200
    revoked = client.delete(f"{SITE_API}/devices/{device_id}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert decide(client, key, "card", secret="00998877", gate="back").status_code == 401
    unknown_gate = client.post(
        f"{SITE_API}/devices", json={"name": "X", "gates": ["nowhere"]}, headers=admin
    )
    assert unknown_gate.status_code == 404


def test_audit_retention_compliance_assessments(client: TestClient, admin: dict[str, str]) -> None:
    verified = client.post(f"{SITE_API}/audit/verify", headers=admin)
    assert verified.status_code == 200
    assert verified.json()["ok"] is True
    assert verified.json()["events_checked"] > 0
    ran = client.post(f"{SITE_API}/retention/run", headers=admin)
    assert ran.status_code == 200
    assert ran.json()["erased"] == {}
    assert ran.json()["receipts"] == []
    report = client.get(f"{SITE_API}/compliance", headers=admin)
    assert report.status_code == 200
    assert report.json()["site"] == SITE
    assert {e["rule"] for e in report.json()["entries"]} >= {"R-01", "R-33"}
    html = client.get(f"{SITE_API}/compliance?format=html", headers=admin)
    assert html.headers["content-type"].startswith("text/html")
    md = client.get(f"{SITE_API}/compliance?format=md", headers=admin)
    assert md.headers["content-type"].startswith("text/markdown")
    assert client.get(f"{SITE_API}/compliance?format=pdf", headers=admin).status_code == 422
    recorded = client.post(
        f"{SITE_API}/assessments",
        json={"assessor": "Zhao Auditor", "summary": "Yearly review of the gate."},
        headers=admin,
    )
    assert recorded.status_code == 201
    assert len(client.get(f"{SITE_API}/assessments", headers=admin).json()) == 2


def test_another_sites_ids_answer_404_through_ones_own_site(
    client: TestClient, store: Store, setup: Setup
) -> None:
    mine = consented_subject(store, SITE)
    card = store.credentials.issue_card(mine.id, "555000111", "operator:test")
    other = bearer(admin_token(client, f"admin@{OTHER_SITE}"))
    other_api = f"{API}/sites/{OTHER_SITE}"
    for path in ("", "/consents", "/credentials", "/export"):
        response = client.get(f"{other_api}/subjects/{mine.id}{path}", headers=other)
        assert response.status_code == 404, path
    assert client.delete(f"{other_api}/subjects/{mine.id}", headers=other).status_code == 404
    assert client.delete(f"{other_api}/credentials/{card.id}", headers=other).status_code == 404
    device = store.devices.list(SITE)[0]
    assert client.delete(f"{other_api}/devices/{device.id}", headers=other).status_code == 404
    # Nothing changed.
    assert store.get_subject(mine.id).status.value == "active"
    assert store.credentials.list_for_subject(mine.id)[0].status.value == "active"
    assert store.devices.list(SITE)[0].revoked_at is None


def test_guardian_of_a_child_then_the_guardians_consent(
    client: TestClient, admin: dict[str, str]
) -> None:
    child_born = (date.today() - timedelta(days=365 * 7)).isoformat()
    child = client.post(
        f"{SITE_API}/subjects",
        json={"name": "Li Xiaoming", "kind": "resident", "born": child_born},
        headers=admin,
    )
    assert child.status_code == 201, child.text
    child_id = child.json()["id"]
    guardians = f"{SITE_API}/subjects/{child_id}/guardians"
    added = client.post(
        guardians,
        json={"name": "Li Lei", "relation": "parent", "born": "1985-03-01"},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    assert (added.json()["subject_id"], added.json()["name"], added.json()["relation"]) == (
        child_id,
        "Li Lei",
        "parent",
    )
    assert "born" not in added.json()
    consent = client.post(
        f"{SITE_API}/subjects/{child_id}/consents",
        json={"evidence": "scan:form-9", "method": "signature", "guardian_id": added.json()["id"]},
        headers=admin,
    )
    assert consent.status_code == 201, consent.text

    minor_guardian = {"name": "Li Xiaohong", "relation": "parent", "born": child_born}
    refused = client.post(guardians, json=minor_guardian, headers=admin)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_record")
    bad = client.post(
        guardians, json={"name": "X", "relation": "uncle", "born": "1980-01-01"}, headers=admin
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request")
    adult_id = _new_subject(client, admin)
    adult = client.post(
        f"{SITE_API}/subjects/{adult_id}/guardians",
        json={"name": "Li Lei", "relation": "parent", "born": "1985-03-01"},
        headers=admin,
    )
    assert (adult.status_code, adult.json()["error"]["code"]) == (409, "policy_refused")
    unknown = client.post(
        f"{SITE_API}/subjects/{'0' * 32}/guardians",
        json={"name": "Li Lei", "relation": "parent", "born": "1985-03-01"},
        headers=admin,
    )
    assert unknown.status_code == 404


def test_retention_policy_changes_only_what_is_given(
    client: TestClient, store: Store, admin: dict[str, str]
) -> None:
    policy = f"{SITE_API}/retention/policy"
    before = store.retention.policy(SITE)
    changed = client.put(policy, json={"resident_retention_days": 45}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "site": SITE,
        "resident_retention_days": 45,
        "snapshot_retention_days": before.snapshot_retention_days,
        "keep_disputed_frames": before.keep_disputed_frames,
    }
    assert store.retention.policy(SITE).resident_retention_days == 45

    nothing = client.put(policy, json={}, headers=admin)
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (422, "invalid_record")
    for body in ({"resident_retention_days": 999}, {"snapshot_retention_days": 0},
                 {"keep_disputed_frames": "maybe"}):  # fmt: skip
        bad = client.put(policy, json=body, headers=admin)
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_request"), body
    undeclared = client.put(policy, json={"keep_disputed_frames": True}, headers=admin)
    assert (undeclared.status_code, undeclared.json()["error"]["code"]) == (409, "policy_refused")
    assert store.retention.policy(SITE).keep_disputed_frames is False
    other = client.put(
        f"{API}/sites/{OTHER_SITE}/retention/policy",
        json={"resident_retention_days": 1},
        headers=admin,
    )
    assert other.status_code == 403
