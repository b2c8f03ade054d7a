"""POST /api/v1/enrollments: a resident enrolls at the kiosk with their sign-in code."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from facegate.fixtures import encode_png, no_face
from facegate.store import Store, SubjectKind
from facegate.store.audit import AuditAction
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import enrolled_resident, kiosk_enroll, use_pipeline
from tests.store.helpers import OPERATOR, consented_subject


@pytest.fixture
def face_client(client: TestClient, pipeline: FacePipeline) -> TestClient:
    use_pipeline(client, pipeline)
    return client


def test_enrollment_spends_the_code_and_is_audited(
    face_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    subject = enrolled_resident(face_client, store, setup.device_key, face_png, SITE)
    assert subject.template_count == 1
    actions = [e.action for e in store.audit_events(subject.id)]
    assert AuditAction.SIGNED_IN in actions
    assert AuditAction.TEMPLATE_ENROLLED in actions


def test_a_code_works_once(
    face_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    subject = consented_subject(store, SITE)
    code = store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    assert kiosk_enroll(face_client, setup.device_key, code, [face_png]).status_code == 200
    replay = kiosk_enroll(face_client, setup.device_key, code, [face_png])
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "unauthenticated"
    wrong = kiosk_enroll(face_client, setup.device_key, "12345678", [face_png])
    assert wrong.status_code == 401


@pytest.mark.rule("R-02")
def test_no_enrollment_without_consent(
    face_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    subject = store.add_subject(SITE, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    code = store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    response = kiosk_enroll(face_client, setup.device_key, code, [face_png])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "consent_required"
    assert store.get_subject(subject.id).template_count == 0


def test_image_errors(face_client: TestClient, store: Store, setup: Setup) -> None:
    subject = consented_subject(store, SITE)
    code = store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    # A broken upload is refused before the code is spent...
    broken = kiosk_enroll(face_client, setup.device_key, code, [b"GIF89a broken"])
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "image_corrupt"
    # ...so the same code still works for the next try, which has no face in it.
    empty = kiosk_enroll(face_client, setup.device_key, code, [encode_png(no_face())])
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "no_face"
    assert store.get_subject(subject.id).template_count == 0
    too_many = kiosk_enroll(face_client, setup.device_key, code, [b"x"] * 6)
    assert too_many.status_code == 422


def test_wrong_gate_and_no_key(face_client: TestClient, store: Store, setup: Setup) -> None:
    subject = consented_subject(store, SITE)
    code = store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    assert kiosk_enroll(face_client, setup.device_key, code, [b"x"], gate="back").status_code == 403
    no_key = face_client.post(
        "/api/v1/enrollments", data={"gate": "main", "code": code}, files=[("images", b"x")]
    )
    assert no_key.status_code == 401
