"""Resident self-service on the real app: notice, consent, export, credentials, face."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from facegate.store import Store, SubjectKind
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import decide, kiosk_enroll, use_pipeline
from tests.api.signin import API, bearer, resident_token
from tests.store.helpers import NOTICE_VERSION, OPERATOR

CONSENT = f"{API}/me/consent"


@pytest.fixture
def resident(client: TestClient, store: Store, setup: Setup) -> tuple[str, dict[str, str]]:
    subject = store.add_subject(SITE, "Han Meimei", SubjectKind.RESIDENT, actor=OPERATOR)
    return subject.id, bearer(resident_token(client, store, SITE, subject.id))


def test_read_notice_and_give_explicit_consent(
    client: TestClient, resident: tuple[str, dict[str, str]]
) -> None:
    subject_id, headers = resident
    notice = client.get(f"{API}/me/notice", headers=headers)
    assert notice.status_code == 200
    assert notice.json()["version"] == NOTICE_VERSION
    assert set(notice.json()["content"]["texts"]) == {"zh", "en"}
    implicit = client.post(CONSENT, json={"notice_version": NOTICE_VERSION}, headers=headers)
    assert implicit.status_code == 422
    declined = client.post(
        f"{API}/me/consent",
        json={"accept": False, "notice_version": NOTICE_VERSION},
        headers=headers,
    )
    assert declined.status_code == 422
    stale = client.post(CONSENT, json={"accept": True, "notice_version": "2020-1"}, headers=headers)
    assert stale.status_code == 404
    given = client.post(
        f"{API}/me/consent",
        json={"accept": True, "notice_version": NOTICE_VERSION},
        headers=headers,
    )
    assert given.status_code == 201, given.text
    assert given.json()["method"] == "e_signature"
    assert given.json()["collected_by"] == f"resident:{subject_id}"
    me = client.get(f"{API}/me", headers=headers).json()
    assert me["subject"]["has_active_consent"] is True
    assert len(me["consents"]) == 1


def test_withdrawal_stops_the_face_and_keeps_the_pin(
    client: TestClient,
    store: Store,
    setup: Setup,
    resident: tuple[str, dict[str, str]],
    pipeline: FacePipeline,
    face_png: bytes,
) -> None:
    use_pipeline(client, pipeline)
    subject_id, headers = resident
    client.post(
        f"{API}/me/consent",
        json={"accept": True, "notice_version": NOTICE_VERSION},
        headers=headers,
    )
    code = store.accounts.issue_signin_code(subject_id, actor=OPERATOR)
    assert kiosk_enroll(client, setup.device_key, code, [face_png]).status_code == 200
    pin = client.post(f"{API}/me/credentials/pin", json={"pin": "480213"}, headers=headers)
    assert pin.status_code == 201
    gone = client.delete(f"{API}/me/face", headers=headers)
    assert gone.status_code == 200
    assert gone.json()["receipt"]["templates_deleted"] == 1
    me = client.get(f"{API}/me", headers=headers).json()
    assert (me["subject"]["template_count"], me["subject"]["has_active_consent"]) == (0, False)
    opened = decide(client, setup.device_key, "pin", secret="480213", subject_id=subject_id)
    assert opened.json()["outcome"] == "open"


def test_export_otp_and_withdraw(client: TestClient, resident: tuple[str, dict[str, str]]) -> None:
    _, headers = resident
    exported = client.get(f"{API}/me/export", headers=headers)
    assert exported.status_code == 200
    assert "Han Meimei" in exported.text
    otp = client.post(f"{API}/me/credentials/otp", headers=headers)
    assert otp.status_code == 201
    assert len(otp.json()["code"]) >= 6
    withdrawn = client.post(f"{API}/me/consent/withdraw", headers=headers)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["consent_ids"] == []
    trivial = client.post(f"{API}/me/credentials/pin", json={"pin": "123456"}, headers=headers)
    assert (trivial.status_code, trivial.json()["error"]["code"]) == (422, "invalid_record")
    assert "123456" not in trivial.text
