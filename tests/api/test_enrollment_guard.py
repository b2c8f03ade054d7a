"""The enrollment guard through the API: a face that would open the door for another enrolled
person (a photo of them, or a morph with them) is refused with words that name nobody, the
refusal is audited without names or scores, and a genuine enrollment still passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facegate.api.i18n import STRINGS
from facegate.audit.morph import crop_to_face, enrollment_morph
from facegate.fixtures import encode_png
from facegate.gate.enrollment_guard import REFUSED_REASON, GuardCheck
from facegate.store import Store
from facegate.store.accounts import Role
from facegate.store.audit import AuditAction
from facegate.vision.image import load_image
from facegate.vision.pipeline import FacePipeline, Selection
from tests.api.conftest import ADMIN_PASSWORD, SITE, Setup
from tests.api.gate_helpers import use_pipeline
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import OPERATOR, consented_subject

SITE_API = f"{API}/sites/{SITE}"
DESK_USER = f"desk@{SITE}"
#: Two LFW look-alikes whose 50/50 morph matches both at the door (``facegate.audit.morph``
#: pairs them); photo 1 is morphed, photo 2 is the person's live capture / enrolled photo.
ENROLLER = "Clint_Eastwood"
ACCOMPLICE = "Richard_Gephardt"


@pytest.fixture
def desk(client: TestClient, store: Store, setup: Setup) -> dict[str, str]:
    store.accounts.create_admin(SITE, DESK_USER, ADMIN_PASSWORD, actor=OPERATOR, role=Role.OPERATOR)
    return bearer(admin_token(client, DESK_USER))


def _enroll(
    client: TestClient, desk: dict[str, str], subject_id: str, photo: bytes, live: bytes | None
) -> tuple[int, dict[str, object]]:
    files = [("images", ("photo.png", photo, "image/png"))]
    if live is not None:
        files.append(("live", ("live.png", live, "image/png")))
    response = client.post(
        f"{SITE_API}/subjects/{subject_id}/enrollments", files=files, headers=desk
    )
    body: dict[str, object] = response.json()
    return response.status_code, body


def _refusals(store: Store, subject_id: str) -> list[dict[str, object]]:
    return [
        dict(e.detail)
        for e in store.audit_events(subject_id)
        if e.action == AuditAction.ENROLLMENT_REFUSED.value
    ]


@pytest.mark.rule("R-27")
def test_a_photo_of_another_enrolled_person_is_refused_without_naming_them(
    client: TestClient, store: Store, desk: dict[str, str], pipeline: FacePipeline,
    face_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    owner = consented_subject(store, SITE, name="Wang Wu")
    assert _enroll(client, desk, owner.id, face_png, None)[0] == 201
    other = consented_subject(store, SITE, name="Li Si")

    status, body = _enroll(client, desk, other.id, face_png, None)

    assert status == 409, body
    assert body["error"]["reason"] == REFUSED_REASON  # type: ignore[index]
    assert owner.id not in str(body)
    assert "Wang" not in str(body)
    assert store.get_subject(other.id).template_count == 0
    assert _refusals(store, other.id) == [
        {"refused_by": GuardCheck.MATCHES_ENROLLED_OTHER.value, "images": 1, "live": 0}
    ]
    assert f"err_policy_refused_{REFUSED_REASON}" in STRINGS


def test_a_genuine_enrollment_and_a_re_enrollment_still_pass(
    client: TestClient, store: Store, desk: dict[str, str], pipeline: FacePipeline,
    face_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    subject = consented_subject(store, SITE)
    assert _enroll(client, desk, subject.id, face_png, face_png)[0] == 201
    # Its own templates are no "other person": enrolling again adds to them.
    assert _enroll(client, desk, subject.id, face_png, None)[0] == 201
    assert store.get_subject(subject.id).template_count == 2
    assert _refusals(store, subject.id) == []


def _lfw(root: Path, person: str, number: int) -> Path:
    return root / "lfw_deepfunneled_subset" / "images" / person / f"{person}_{number:04d}.jpg"


def _portrait(path: Path, pipeline: FacePipeline) -> bytes:
    """The photo cropped to its central face, as a desk photo (LFW's backgrounds hold other
    faces, which enrollment refuses)."""
    image = load_image(path)
    face = pipeline.subject(image, Selection.CENTRAL)
    assert face.keypoints is not None
    return encode_png(crop_to_face(image, face.keypoints))


@pytest.fixture
def morph_png(shared_data_dir: Path, pipeline: FacePipeline) -> bytes:
    a = load_image(_lfw(shared_data_dir, ENROLLER, 1))
    b = load_image(_lfw(shared_data_dir, ACCOMPLICE, 1))
    face_a = pipeline.subject(a, Selection.CENTRAL)
    face_b = pipeline.subject(b, Selection.CENTRAL)
    assert face_a.keypoints is not None
    assert face_b.keypoints is not None
    return encode_png(enrollment_morph(a, face_a.keypoints, b, face_b.keypoints))


@pytest.mark.shared_data
@pytest.mark.rule("R-27")
def test_a_morph_with_an_enrolled_person_is_refused(
    client: TestClient, store: Store, desk: dict[str, str], pipeline: FacePipeline,
    shared_data_dir: Path, morph_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    accomplice = consented_subject(store, SITE, name="Li Si")
    enrolled_photo = _portrait(_lfw(shared_data_dir, ACCOMPLICE, 2), pipeline)
    assert _enroll(client, desk, accomplice.id, enrolled_photo, None)[0] == 201
    enroller = consented_subject(store, SITE, name="Zhang San")

    status, body = _enroll(client, desk, enroller.id, morph_png, None)

    assert status == 409, body
    assert body["error"]["reason"] == REFUSED_REASON  # type: ignore[index]
    assert store.get_subject(enroller.id).template_count == 0
    assert _refusals(store, enroller.id)[0]["refused_by"] == GuardCheck.MATCHES_ENROLLED_OTHER.value


@pytest.mark.shared_data
def test_a_morph_differs_from_its_enrollers_live_capture(
    client: TestClient, store: Store, desk: dict[str, str], pipeline: FacePipeline,
    shared_data_dir: Path, morph_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    enroller = consented_subject(store, SITE)
    live = _portrait(_lfw(shared_data_dir, ENROLLER, 2), pipeline)
    bona_fide = _portrait(_lfw(shared_data_dir, ENROLLER, 1), pipeline)

    status, body = _enroll(client, desk, enroller.id, morph_png, live)

    assert status == 409, body
    assert body["error"]["reason"] == REFUSED_REASON  # type: ignore[index]
    assert _refusals(store, enroller.id) == [
        {"refused_by": GuardCheck.DIFFERS_FROM_LIVE_CAPTURE.value, "images": 1, "live": 1}
    ]
    # The same person's bona fide photo against the same live capture passes.
    assert _enroll(client, desk, enroller.id, bona_fide, live)[0] == 201
