"""The front desk: enrolling from uploaded photos (consent first, no image kept) and the
test of recognition (the decision only, audited, never in the access log)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from facegate.api.ratelimit import STAFF_FACES
from facegate.core.config import Settings
from facegate.fixtures import encode_png
from facegate.gate import FaceRequest, LivenessDemand
from facegate.store import Store, SubjectKind
from facegate.store.accounts import Role
from facegate.store.audit import DECISION_ACTIONS, AuditAction
from facegate.store.records import LivenessLevel
from facegate.store.schema import AuditEvent
from facegate.vision.image import load_image
from facegate.vision.pipeline import FacePipeline, Selection
from tests.api.conftest import ADMIN_PASSWORD, SITE, Setup
from tests.api.gate_helpers import use_pipeline
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import OPERATOR, consented_subject

SITE_API = f"{API}/sites/{SITE}"
TESTS = f"{SITE_API}/recognition-tests"
DESK_USER = f"desk@{SITE}"
AUDITOR_USER = f"auditor@{SITE}"
#: Marks of the image formats an upload could be kept in: long enough that encrypted
#: bytes do not hold one by chance (a 3-byte JPEG start would, in a few MB).
IMAGE_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n", b"IHDR", b"IDAT", b"JFIF\x00", b"Exif\x00\x00", b"GIF89a", b"WEBPVP8",
)  # fmt: skip
#: What a test's answer may hold: the decision, never a score, distance or template.
TEST_KEYS = {"gate", "outcome", "reason", "name", "subject_id", "quality_reasons", "liveness"}


@pytest.fixture
def desk(client: TestClient, store: Store, setup: Setup) -> dict[str, str]:
    """A front-desk operator's session (not an administrator)."""
    store.accounts.create_admin(SITE, DESK_USER, ADMIN_PASSWORD, actor=OPERATOR, role=Role.OPERATOR)
    return bearer(admin_token(client, DESK_USER))


@pytest.fixture
def auditor(client: TestClient, store: Store, setup: Setup) -> dict[str, str]:
    store.accounts.create_admin(
        SITE, AUDITOR_USER, ADMIN_PASSWORD, actor=OPERATOR, role=Role.AUDITOR
    )
    return bearer(admin_token(client, AUDITOR_USER))


@pytest.fixture
def admin(client: TestClient, setup: Setup) -> dict[str, str]:
    return bearer(admin_token(client, setup.admin_user))


def _photos(*images: bytes) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("images", (f"photo{i}.png", image, "image/png")) for i, image in enumerate(images)]


def _test(
    client: TestClient, headers: dict[str, str], image: bytes, gate: str = "main"
) -> dict[str, Any]:
    response = client.post(
        TESTS, data={"gate": gate}, files={"image": ("test.png", image, "image/png")},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _floats(value: object) -> list[float]:
    """Every float anywhere in a JSON value (a score would be one)."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


def _grey_png() -> bytes:
    """A plain grey picture: no face in it."""
    return encode_png(np.full((480, 640, 3), 128, dtype=np.uint8))


def _small_face_png(face_png: bytes) -> bytes:
    """The astronaut shrunk into a corner of a large frame: a face too small to use."""
    face = Image.open(io.BytesIO(face_png)).convert("RGB").resize((72, 72))
    frame = Image.new("RGB", (1280, 960), (128, 128, 128))
    frame.paste(face, (20, 20))
    out = io.BytesIO()
    frame.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.rule("R-02")
@pytest.mark.rule("R-03")
def test_the_front_desk_enrolls_from_photos_only_after_consent(
    client: TestClient, store: Store, desk: dict[str, str], pipeline: FacePipeline,
    face_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    subject = store.add_subject(SITE, "Wang Fang", SubjectKind.RESIDENT, actor=OPERATOR)
    url = f"{SITE_API}/subjects/{subject.id}/enrollments"
    refused = client.post(url, files=_photos(face_png), headers=desk)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "consent_required")
    assert store.get_subject(subject.id).template_count == 0

    version = store.notices.current(SITE).version
    store.consents.record(subject.id, version, "signature", "scan:form-9", actor=OPERATOR)
    enrolled = client.post(url, files=_photos(face_png, face_png), headers=desk)
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json() == {"subject_id": subject.id, "enrolled": 2}
    assert store.get_subject(subject.id).template_count == 2
    events = store.audit_events(subject_id=subject.id)
    enrolled_events = [e for e in events if e.action == AuditAction.TEMPLATE_ENROLLED.value]
    assert enrolled_events
    assert {e.actor.split(":")[0] for e in enrolled_events} == {"operator"}


def test_enrollment_errors_name_the_problem_for_the_page(
    client: TestClient, store: Store, desk: dict[str, str], pipeline: FacePipeline,
    face_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    subject = consented_subject(store, SITE)
    url = f"{SITE_API}/subjects/{subject.id}/enrollments"
    cases = {
        "no_face": _grey_png(),
        "image_corrupt": b"\x89PNG\r\n\x1a\nnot really",
        "poor_quality": _small_face_png(face_png),
    }
    for code, image in cases.items():
        response = client.post(url, files=_photos(image), headers=desk)
        error = response.json()["error"]
        assert (response.status_code, error["code"]) == (422, code), response.text
        if code == "poor_quality":
            assert error["reasons"] == ["face_too_small", "blurred"]
    two = encode_png(np.hstack([np.asarray(Image.open(io.BytesIO(face_png)))] * 2))
    several = client.post(url, files=_photos(two), headers=desk)
    assert several.json()["error"]["code"] == "multiple_faces"
    assert store.get_subject(subject.id).template_count == 0


@pytest.mark.rule("R-20")
@pytest.mark.rule("R-21")
def test_no_image_is_kept_after_enrollment(
    client: TestClient, store: Store, settings: Settings, desk: dict[str, str],
    pipeline: FacePipeline, face_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    subject = consented_subject(store, SITE)
    before = {p: p.read_bytes() for p in _files(settings)}
    response = client.post(
        f"{SITE_API}/subjects/{subject.id}/enrollments", files=_photos(face_png), headers=desk
    )
    assert response.status_code == 201, response.text
    store.close()  # the database's pages and journal on disk, nothing held back in memory
    embedding = pipeline.subject(load_image(face_png), Selection.SINGLE).embedding
    assert embedding is not None
    plain = np.asarray(embedding, dtype=np.float32).tobytes()
    files = _files(settings)
    assert any(before.get(p) != p.read_bytes() for p in files), "enrollment wrote nothing"
    assert any(sig in face_png for sig in IMAGE_SIGNATURES), "the marks would find the upload"
    for path in files:
        data = path.read_bytes()
        assert not any(sig in data for sig in IMAGE_SIGNATURES), f"an image in {path}"
        assert face_png[100:164] not in data, f"the upload's bytes in {path}"
        # The template is stored encrypted: its plain float32 bytes are nowhere.
        assert plain[:32] not in data, f"a plain template in {path}"


def _files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.data_dir.rglob("*") if p.is_file())


def test_a_recognition_test_answers_the_decision_only(
    client: TestClient, store: Store, desk: dict[str, str], pipeline: FacePipeline,
    face_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    subject = consented_subject(store, SITE, name="Li Na")
    url = f"{SITE_API}/subjects/{subject.id}/enrollments"
    assert client.post(url, files=_photos(face_png), headers=desk).status_code == 201

    body = _test(client, desk, face_png)
    assert body == {
        "gate": "main",
        "outcome": "open",
        "reason": "ok",
        "name": "Li Na",
        "subject_id": subject.id,
        "quality_reasons": [],
        "liveness": "not_checked",
    }
    assert set(body) <= TEST_KEYS
    assert _floats(body) == []
    text = json.dumps(body).lower()
    assert not any(word in text for word in ("score", "distance", "template", "embedding"))

    unknown = _test(client, desk, _grey_png())
    assert (unknown["outcome"], unknown["reason"], "name" in unknown) == (
        "try_another",
        "no_face",
        False,
    )
    small = _test(client, desk, _small_face_png(face_png))
    assert (small["outcome"], small["reason"], small["quality_reasons"]) == (
        "try_another",
        "poor_quality",
        ["face_too_small", "blurred"],
    )


def test_a_stranger_is_not_recognized(
    client: TestClient, store: Store, desk: dict[str, str], pipeline: FacePipeline,
    face_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    consented_subject(store, SITE, name="Nobody Enrolled")
    body = _test(client, desk, face_png)
    assert (body["outcome"], body["reason"]) == ("deny", "not_recognized")
    assert "name" not in body
    assert "subject_id" not in body


@pytest.mark.rule("R-27")
def test_a_recognition_test_is_audited_but_not_a_gate_decision(
    client: TestClient, store: Store, desk: dict[str, str], admin: dict[str, str],
    pipeline: FacePipeline, face_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    subject = consented_subject(store, SITE, name="Li Na")
    url = f"{SITE_API}/subjects/{subject.id}/enrollments"
    assert client.post(url, files=_photos(face_png), headers=desk).status_code == 201
    log_before = client.get(f"{SITE_API}/decisions?limit=50", headers=admin).json()
    state = use_pipeline(client, pipeline)
    opened_before = _metric_total(state, "open")

    assert _test(client, desk, face_png)["outcome"] == "open"

    assert client.get(f"{SITE_API}/decisions?limit=50", headers=admin).json() == log_before
    assert _metric_total(state, "open") == opened_before
    tested = [
        e for e in store.audit_events(subject_id=subject.id)
        if e.action == AuditAction.RECOGNITION_TESTED.value
    ]  # fmt: skip
    assert len(tested) == 1
    event = tested[0]
    assert event.actor.startswith("operator:")
    assert event.detail["outcome"] == "open"
    assert event.detail["gate"] == "main"
    assert event.detail["reason"] == "ok"
    assert event.detail["liveness"] == "skipped"
    assert _floats(event.detail) == []


def _metric_total(state: Any, outcome: str) -> float:
    """Gate decisions counted by the metrics with ``outcome`` (all kinds)."""
    total = 0.0
    for metric in state.metrics.decisions.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("outcome") == outcome:
                total += sample.value
    return total


def test_a_gate_without_faces_answers_try_another_and_an_unknown_gate_404(
    client: TestClient, store: Store, desk: dict[str, str], pipeline: FacePipeline,
    face_png: bytes,
) -> None:  # fmt: skip
    use_pipeline(client, pipeline)
    store.gates.configure(
        SITE, "side", "Side gate",
        accepts_face=False, accepts_card=True, accepts_pin=True, accepts_otp=True,
        liveness=LivenessLevel.PASSIVE, actor=OPERATOR,
    )  # fmt: skip
    body = _test(client, desk, face_png, gate="side")
    assert (body["outcome"], body["reason"]) == ("try_another", "gate_does_not_accept")
    action, detail = _last_event(store)
    assert (action, detail["gate"], detail["outcome"]) == (
        AuditAction.RECOGNITION_TESTED.value,
        "side",
        "try_another",
    )
    missing = client.post(
        TESTS, data={"gate": "nowhere"}, files={"image": ("t.png", face_png, "image/png")},
        headers=desk,
    )  # fmt: skip
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


def _last_event(store: Store) -> tuple[str, dict[str, Any]]:
    with store.reading() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        return event.action, json.loads(event.detail)


def test_recognition_tests_are_rate_limited_per_staff_member(
    client: TestClient, store: Store, desk: dict[str, str], admin: dict[str, str],
    pipeline: FacePipeline, face_png: bytes,
) -> None:  # fmt: skip
    state = use_pipeline(client, pipeline)
    account = store.accounts.session(desk["Authorization"].split()[1])
    for _ in range(STAFF_FACES.events):
        state.limiter.hit(STAFF_FACES, f"{account.role.value}:{account.principal_id}")
    limited = client.post(
        TESTS, data={"gate": "main"}, files={"image": ("t.png", face_png, "image/png")},
        headers=desk,
    )  # fmt: skip
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    subject = consented_subject(store, SITE)
    enroll = client.post(
        f"{SITE_API}/subjects/{subject.id}/enrollments", files=_photos(face_png), headers=desk
    )
    assert (enroll.status_code, store.get_subject(subject.id).template_count) == (429, 0)
    # Another staff member has their own allowance.
    assert _test(client, admin, _grey_png())["reason"] == "no_face"


def test_an_auditor_may_not_test_recognition_or_enroll(
    client: TestClient, store: Store, auditor: dict[str, str], face_png: bytes
) -> None:
    subject = consented_subject(store, SITE)
    events = store.verify_audit().events_checked
    tested = client.post(
        TESTS, data={"gate": "main"}, files={"image": ("t.png", face_png, "image/png")},
        headers=auditor,
    )  # fmt: skip
    enrolled = client.post(
        f"{SITE_API}/subjects/{subject.id}/enrollments", files=_photos(face_png), headers=auditor
    )
    assert (tested.status_code, enrolled.status_code) == (403, 403)
    assert store.verify_audit().events_checked == events


@pytest.mark.parametrize(
    ("lang", "title", "liveness"),
    [
        ("zh", "识别测试", "上传的照片不做活体检测。"),
        ("en", "Test recognition", "Liveness is not checked on uploaded photos."),
    ],
)
def test_the_console_has_the_front_desk_in_both_languages(
    client: TestClient, lang: str, title: str, liveness: str
) -> None:
    page = client.get(f"/admin?lang={lang}")
    assert page.status_code == 200
    assert 'id="frontdesk"' in page.text
    assert title in page.text
    assert liveness in page.text
    assert "/static/admin-frontdesk.js" in page.text
    script = client.get("/static/admin-frontdesk.js")
    assert script.status_code == 200
    # Errors are shown in the page's words, never the API's English message.
    assert ".message" not in script.text.replace("-message", "")


def test_a_trial_request_is_audited_apart_from_gate_decisions(setup: Setup, store: Store) -> None:
    trial = FaceRequest(SITE, "operator:x", liveness=LivenessDemand.SKIPPED, trial_gate="main")
    identify = FaceRequest(SITE, "cli", liveness=LivenessDemand.SKIPPED)
    assert (trial.action, trial.purpose, trial.where()) == (
        AuditAction.RECOGNITION_TESTED,
        "recognition_test",
        {"gate": "main"},
    )
    assert AuditAction.RECOGNITION_TESTED not in DECISION_ACTIONS
    assert identify.action is AuditAction.DECISION_IDENTIFY
    device = store.devices.register(SITE, "Kiosk 9", ["main"], actor=OPERATOR)
    gate = store.gates.get(SITE, "main")
    with pytest.raises(ValueError, match="trial_gate"):
        FaceRequest(SITE, "device:d", gate=gate, device_id=device.info.id, trial_gate="main")
