"""POST /api/v1/decisions: the real app, the real store and the real face pipeline."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from fastapi.testclient import TestClient

from facegate.api.routes.device import liveness_check
from facegate.fixtures import encode_png, no_face
from facegate.gate.liveness import ChallengeAnswer, LivenessCheck, LivenessResult
from facegate.liveness.challenge import Challenge
from facegate.store import Store, SubjectKind
from facegate.store.audit import AuditAction
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import FacePipeline
from facegate.vision.record import Box
from tests.api.conftest import OTHER_SITE, SITE, Setup
from tests.api.gate_helpers import (
    DECISION_KEYS,
    decide,
    decide_face,
    device_headers,
    enrolled_resident,
    use_pipeline,
)
from tests.api.signin import API, admin_token, bearer, resident_token
from tests.store.helpers import OPERATOR, consented_subject

ALL_ALTERNATIVES = ["card", "pin", "otp"]


def _assert_decision(
    body: dict[str, object], outcome: str, reason: str, check: str | None = None
) -> None:
    """``check``: the liveness check a ``liveness_failed`` answer names (no other key)."""
    assert set(body) == DECISION_KEYS | ({"check"} if check is not None else set())
    assert body.get("check") == check
    assert body["outcome"] == outcome
    assert body["reason"] == reason
    assert isinstance(body["decision_id"], int)
    assert body["alternatives"] == ALL_ALTERNATIVES


@pytest.fixture
def face_client(client: TestClient, pipeline: FacePipeline) -> TestClient:
    use_pipeline(client, pipeline)
    return client


def test_enrolled_face_opens_and_the_answer_holds_no_score(
    face_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    subject = enrolled_resident(face_client, store, setup.device_key, face_png, SITE)
    response = decide_face(face_client, setup.device_key, face_png)
    assert response.status_code == 200, response.text
    _assert_decision(response.json(), "open", "ok")
    assert "score" not in response.text
    assert "similarity" not in response.text
    assert subject.id not in response.text
    assert "Zhang" not in response.text
    assert not re.search(r"\d\.\d{3,}", response.text), "no float leaves the server"
    event = next(
        e for e in store.audit_events(subject.id) if e.action == AuditAction.DECISION_IDENTIFY
    )
    assert event.id == response.json()["decision_id"]
    assert event.detail["outcome"] == "open"
    assert event.detail["liveness"] == "passive_ok"
    assert event.detail["gate"] == "main"


def test_verification_with_a_claimed_subject(
    face_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    subject = enrolled_resident(face_client, store, setup.device_key, face_png, SITE)
    other = consented_subject(store, SITE, name="Li Si")
    opened = decide_face(face_client, setup.device_key, face_png, subject.id)
    _assert_decision(opened.json(), "open", "ok")
    # Not enrolled, and a subject id of no one: the same answer.
    for claimed in (other.id, "0" * 32):
        refused = decide_face(face_client, setup.device_key, face_png, claimed)
        assert refused.status_code == 200, refused.text
        _assert_decision(refused.json(), "deny", "not_recognized")


def test_unknown_face_is_denied(face_client: TestClient, setup: Setup, face_png: bytes) -> None:
    response = decide_face(face_client, setup.device_key, face_png)
    _assert_decision(response.json(), "deny", "not_recognized")


def test_no_face_asks_for_another_credential(face_client: TestClient, setup: Setup) -> None:
    response = decide_face(face_client, setup.device_key, encode_png(no_face()))
    assert response.status_code == 200, response.text
    _assert_decision(response.json(), "try_another", "no_face")


@pytest.mark.rule("R-08")
def test_withdrawal_stops_the_face_at_once_and_a_pin_still_opens(
    face_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    subject = enrolled_resident(face_client, store, setup.device_key, face_png, SITE)
    store.credentials.set_pin(subject.id, "402917", actor=OPERATOR)
    _assert_decision(decide_face(face_client, setup.device_key, face_png).json(), "open", "ok")
    store.consents.withdraw_all(subject.id, actor=OPERATOR)
    _assert_decision(
        decide_face(face_client, setup.device_key, face_png).json(), "deny", "not_recognized"
    )
    _assert_decision(
        decide_face(face_client, setup.device_key, face_png, subject.id).json(),
        "deny",
        "not_recognized",
    )
    pin = decide(face_client, setup.device_key, "pin", secret="402917", subject_id=subject.id)
    _assert_decision(pin.json(), "open", "ok")


class _Refuses:
    """A passive check that refuses: shows the engine asks it about the matched face."""

    def __init__(self) -> None:
        self.boxes: list[Box] = []

    def passive(self, image: RGBImage, box: Box) -> LivenessResult:
        assert image.ndim == 3
        assert image.shape[2] == 3
        self.boxes.append(box)
        return LivenessResult(passed=False, reason="screen_replay")

    def active(
        self,
        frames: Sequence[RGBImage],
        steps: Sequence[Challenge],
        pipeline: FacePipeline,
        identity_threshold: float,
    ) -> ChallengeAnswer:
        raise AssertionError("a passive gate sends no challenge")


@pytest.mark.rule("R-08", "R-27")
def test_failed_liveness_asks_for_another_credential_and_names_the_check(
    face_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    subject = enrolled_resident(face_client, store, setup.device_key, face_png, SITE)
    refuses = _Refuses()
    hook: LivenessCheck = refuses
    face_client.app.dependency_overrides[liveness_check] = lambda: hook  # type: ignore[attr-defined]
    response = decide_face(face_client, setup.device_key, face_png, subject.id)
    # Which check refused (a code), never its outcome's detail or a score.
    _assert_decision(response.json(), "try_another", "liveness_failed", check="passive")
    assert "screen_replay" not in response.text
    assert not re.search(r"\d\.\d{3,}", response.text), "no float leaves the server"
    assert len(refuses.boxes) == 1
    assert refuses.boxes[0].width > 60
    event = next(
        e for e in store.audit_events(subject.id) if e.action == AuditAction.DECISION_VERIFY
    )
    assert event.detail["liveness"] == "screen_replay"
    assert (event.detail["reason"], event.detail["check"]) == ("liveness_failed", "passive")


def test_card_pin_and_one_time_code(client: TestClient, store: Store, setup: Setup) -> None:
    subject = consented_subject(store, SITE)
    store.credentials.issue_card(subject.id, "04A1B2C3", actor=OPERATOR)
    store.credentials.set_pin(subject.id, "402917", actor=OPERATOR)
    otp = store.credentials.issue_otp(subject.id, actor=OPERATOR)
    key = setup.device_key
    _assert_decision(decide(client, key, "card", secret="04A1B2C3").json(), "open", "ok")
    _assert_decision(
        decide(client, key, "card", secret="0BADCAFE").json(), "deny", "unknown_credential"
    )
    _assert_decision(
        decide(client, key, "pin", secret="402917", subject_id=subject.id).json(), "open", "ok"
    )
    _assert_decision(
        decide(client, key, "pin", secret="111333", subject_id=subject.id).json(),
        "deny",
        "wrong_pin",
    )
    _assert_decision(decide(client, key, "otp", secret=otp.code).json(), "open", "ok")
    replay = decide(client, key, "otp", secret=otp.code)
    assert replay.status_code == 200
    _assert_decision(replay.json(), "deny", "used")


def test_a_gate_that_does_not_take_the_kind(client: TestClient, store: Store, setup: Setup) -> None:
    store.gates.configure(
        SITE, "main", "Main gate",
        accepts_face=False, accepts_card=True, accepts_pin=False, accepts_otp=False,
        actor=OPERATOR,
    )  # fmt: skip
    for kind, form in (("pin", {"secret": "402917", "subject_id": "0" * 32}), ("face", {})):
        files = {"image": ("f.png", b"not read", "image/png")} if kind == "face" else None
        response = client.post(
            "/api/v1/decisions",
            data={"gate": "main", "kind": kind, **form},
            files=files,
            headers=device_headers(setup.device_key),
        )
        assert response.status_code == 200, response.text
        assert response.json()["outcome"] == "try_another"
        assert response.json()["reason"] == "gate_does_not_accept"
        assert response.json()["alternatives"] == ["card"]


def test_a_device_only_serves_its_own_gates_and_site(
    client: TestClient, store: Store, setup: Setup
) -> None:
    store.gates.configure(
        SITE, "garage", "Garage",
        accepts_face=False, accepts_card=True, accepts_pin=True, accepts_otp=True,
        actor=OPERATOR,
    )  # fmt: skip
    subject = consented_subject(store, SITE)
    store.credentials.issue_card(subject.id, "04A1B2C3", actor=OPERATOR)
    wrong_gate = client.post(
        "/api/v1/decisions",
        data={"gate": "garage", "kind": "card", "secret": "04A1B2C3"},
        headers=device_headers(setup.device_key),
    )
    assert wrong_gate.status_code == 403
    assert wrong_gate.json()["error"]["code"] == "forbidden"
    # The other site's device decides at its own site: this site's card is unknown there.
    other = store.devices.register(OTHER_SITE, "Kiosk N", ["main"], actor=OPERATOR)
    elsewhere = decide(client, other.api_key, "card", secret="04A1B2C3")
    assert elsewhere.json()["outcome"] == "deny"
    assert elsewhere.json()["reason"] == "unknown_credential"
    for headers in ({}, device_headers("x" * 43), {"Authorization": "Basic abc"}):
        refused = client.post(
            "/api/v1/decisions",
            data={"gate": "main", "kind": "card", "secret": "1"},
            headers=headers,
        )
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthenticated"
    store.devices.revoke(other.info.id, actor=OPERATOR)
    assert decide(client, other.api_key, "card", secret="04A1B2C3").status_code == 401


def test_bad_requests_are_clear_4xx(client: TestClient, setup: Setup) -> None:
    key = setup.device_key
    cases = [
        ({"gate": "main", "kind": "face"}, None, 422, "invalid_record"),
        ({"gate": "main", "kind": "card"}, None, 422, "invalid_record"),
        ({"gate": "main", "kind": "pin", "secret": "402917"}, None, 422, "invalid_record"),
        ({"gate": "main", "kind": "palm", "secret": "1"}, None, 422, "invalid_request"),
        ({"kind": "card", "secret": "1"}, None, 422, "invalid_request"),
        (
            {"gate": "main", "kind": "face"},
            {"image": ("f.png", b"\x89PNG garbage", "image/png")},
            422,
            "image_corrupt",
        ),
    ]
    for form, files, status, code in cases:
        response = client.post(
            "/api/v1/decisions", data=form, files=files, headers=device_headers(key)
        )
        assert response.status_code == status, (form, response.text)
        assert response.json()["error"]["code"] == code
    json_body = client.post(
        "/api/v1/decisions", content=b"{not json", headers={
            **device_headers(key), "Content-Type": "application/json"
        },
    )  # fmt: skip
    assert json_body.status_code == 422


def test_metrics_count_decisions_by_outcome(client: TestClient, store: Store, setup: Setup) -> None:
    subject = consented_subject(store, SITE)
    store.credentials.issue_card(subject.id, "04A1B2C3", actor=OPERATOR)
    for number in ("04A1B2C3", "04A1B2C3", "0BADCAFE"):
        decide(client, setup.device_key, "card", secret=number)
    text = client.get("/metrics").text
    assert 'facegate_decisions_total{kind="card",outcome="open"} 2.0' in text
    assert 'facegate_decisions_total{kind="card",outcome="deny"} 1.0' in text
    assert 'facegate_decision_latency_seconds_count{kind="card"} 3.0' in text


@pytest.mark.rule("R-11")
def test_a_pin_opens_with_the_resident_number_shown_on_the_me_page(
    client: TestClient, store: Store, setup: Setup
) -> None:
    subject = store.add_subject(SITE, "Li Si", SubjectKind.RESIDENT, actor=OPERATOR)
    store.credentials.set_pin(subject.id, "402917", actor=OPERATOR)
    me = client.get(f"{API}/me", headers=bearer(resident_token(client, store, SITE, subject.id)))
    number = me.json()["subject"]["resident_number"]
    assert number == subject.resident_number
    assert len(number) == 6
    assert number.isdigit()
    key = setup.device_key
    opened = decide(client, key, "pin", secret="402917", resident_number=number)
    _assert_decision(opened.json(), "open", "ok")
    # A wrong PIN and a resident number nobody has get the same answer.
    unknown = "100000" if number != "100000" else "100001"
    wrong_pin = decide(client, key, "pin", secret="111333", resident_number=number)
    wrong_number = decide(client, key, "pin", secret="402917", resident_number=unknown)
    assert wrong_pin.status_code == wrong_number.status_code == 200
    _assert_decision(wrong_pin.json(), "deny", "wrong_pin")
    _assert_decision(wrong_number.json(), "deny", "wrong_pin")
    # Both at once, or a number that is not six digits, is a malformed request.
    both = decide(
        client, key, "pin", secret="402917", resident_number=number, subject_id=subject.id
    )
    assert both.status_code == 422
    assert decide(client, key, "pin", secret="402917", resident_number="12x").status_code == 422
    # The admin console lists it too.
    admin = client.get(
        f"{API}/sites/{SITE}/subjects", headers=bearer(admin_token(client, f"admin@{SITE}"))
    )
    assert {s["id"]: s["resident_number"] for s in admin.json()}[subject.id] == number
