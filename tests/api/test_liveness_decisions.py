"""Liveness in the gate decision: passive on every face, a challenge where the gate asks
(which a new face gate does by default). A refusal names the check that failed.

The real app, store, pipeline and shipped PAD model; the challenge issuer gets a fake clock
only where expiry is tested, and the active check is replaced only where a test needs a
challenge answered as a live person would.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image

from facegate.api.routes.device import liveness_check
from facegate.api.state import AppState
from facegate.fixtures import astronaut, encode_png
from facegate.gate.liveness import ACTIVE_OK, ChallengeAnswer, LivenessCheck, LivenessResult
from facegate.liveness.challenge import Challenge, ChallengeIssuer
from facegate.store import Store
from facegate.store.audit import AuditAction
from facegate.store.records import LivenessLevel
from facegate.store.site_reads import recent_decisions
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.record import Box
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import (
    DECISIONS,
    decide_face,
    device_headers,
    enrolled_resident,
    use_pipeline,
)
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import OPERATOR

ALTERNATIVES = ["card", "pin", "otp"]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def active_client(
    client: TestClient, store: Store, setup: Setup, pipeline: FacePipeline
) -> TestClient:
    """The device's gate demands passive and active liveness."""
    use_pipeline(client, pipeline)
    store.gates.configure(
        SITE, "main", "Main gate",
        accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
        liveness=LivenessLevel.PASSIVE_ACTIVE, actor=OPERATOR,
    )  # fmt: skip
    return client


def _state(client: TestClient) -> AppState:
    state: AppState = client.app.state.facegate  # type: ignore[attr-defined]
    return state


def _answer(
    client: TestClient, key: str, nonce: str, frames: list[bytes], gate: str = "main"
) -> Response:
    response: Response = client.post(
        DECISIONS,
        data={"gate": gate, "kind": "face", "challenge": nonce},
        files=[("frames", (f"f{i}.png", f, "image/png")) for i, f in enumerate(frames)],
        headers=device_headers(key),
    )
    return response


def _challenge(client: TestClient, key: str, face_png: bytes) -> dict[str, object]:
    response = decide_face(client, key, face_png)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "try_another"
    assert body["reason"] == "challenge_required"
    challenge = body["challenge"]
    assert isinstance(challenge, dict)
    return challenge


def _last_liveness(store: Store) -> tuple[str, str]:
    latest = recent_decisions(store, SITE, 1)[0]
    assert latest.action == AuditAction.DECISION_IDENTIFY
    detail = latest.detail
    return str(detail["reason"]), str(detail["liveness"])


def test_an_active_gate_answers_a_live_face_with_a_random_challenge(
    active_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    first = _challenge(active_client, setup.device_key, face_png)
    second = _challenge(active_client, setup.device_key, face_png)
    assert set(first) == {"nonce", "steps", "expires_in"}
    assert first["nonce"] != second["nonce"]
    steps = first["steps"]
    assert isinstance(steps, list)
    assert len(steps) == 3
    assert set(steps) <= {"turn_left", "turn_right", "come_closer"}
    assert all(a != b for a, b in itertools.pairwise(steps))
    assert _last_liveness(store) == ("challenge_required", "passive_ok")


def test_a_still_photo_cannot_follow_the_challenge_and_gets_the_alternatives(
    active_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    challenge = _challenge(active_client, setup.device_key, face_png)
    response = _answer(active_client, setup.device_key, str(challenge["nonce"]), [face_png] * 6)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["outcome"], body["reason"]) == ("try_another", "liveness_failed")
    assert body["check"] == "active"
    assert body["alternatives"] == ALTERNATIVES
    assert _last_liveness(store) == ("liveness_failed", "active_challenge_not_followed")
    assert recent_decisions(store, SITE, 1)[0].detail["check"] == "active"


def test_a_nonce_is_single_use(
    active_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    nonce = str(_challenge(active_client, setup.device_key, face_png)["nonce"])
    _answer(active_client, setup.device_key, nonce, [face_png] * 4)
    again = _answer(active_client, setup.device_key, nonce, [face_png] * 4)
    assert (again.json()["reason"], again.json()["check"]) == ("liveness_failed", "challenge")
    assert _last_liveness(store) == ("liveness_failed", "unknown_nonce")
    made_up = _answer(active_client, setup.device_key, "x" * 32, [face_png] * 4)
    assert made_up.json()["reason"] == "liveness_failed"
    assert _last_liveness(store) == ("liveness_failed", "unknown_nonce")


def test_an_expired_nonce_is_refused(
    active_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    clock = _Clock()
    _state(active_client).challenges = ChallengeIssuer(clock=clock)
    nonce = str(_challenge(active_client, setup.device_key, face_png)["nonce"])
    clock.now += 31.0
    response = _answer(active_client, setup.device_key, nonce, [face_png] * 4)
    assert (response.json()["reason"], response.json()["check"]) == ("liveness_failed", "challenge")
    assert _last_liveness(store) == ("liveness_failed", "expired_nonce")


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([], "active_empty_sequence"),
        (["face"], "active_too_few_frames"),
        (["face", "face", "small", "face"], "active_frame_size_mismatch"),
        (["blank", "face", "face", "face"], "active_no_face"),
        (["pair", "pair", "pair", "pair"], "active_several_faces"),
    ],
)
def test_malformed_answers_are_clear_refusals(
    active_client: TestClient,
    store: Store,
    setup: Setup,
    face_png: bytes,
    frames: list[str],
    code: str,
) -> None:
    image = astronaut()
    kinds = {
        "face": face_png,
        "small": encode_png(np.asarray(Image.fromarray(image).resize((256, 256)))),
        "blank": encode_png(np.full_like(image, 128)),
        "pair": encode_png(np.concatenate([image, image], axis=1)),
    }
    nonce = str(_challenge(active_client, setup.device_key, face_png)["nonce"])
    response = _answer(active_client, setup.device_key, nonce, [kinds[f] for f in frames])
    assert response.status_code == 200, response.text
    assert (response.json()["reason"], response.json()["check"]) == ("liveness_failed", "active")
    assert _last_liveness(store) == ("liveness_failed", code)


def test_frames_need_a_challenge_and_a_challenge_needs_frames_not_an_image(
    active_client: TestClient, setup: Setup, face_png: bytes
) -> None:
    no_nonce = active_client.post(
        DECISIONS,
        data={"gate": "main", "kind": "face"},
        files=[("frames", ("f.png", face_png, "image/png"))],
        headers=device_headers(setup.device_key),
    )
    assert no_nonce.status_code == 422
    both = active_client.post(
        DECISIONS,
        data={"gate": "main", "kind": "face", "challenge": "x" * 32},
        files=[("image", ("f.png", face_png, "image/png"))],
        headers=device_headers(setup.device_key),
    )
    assert both.status_code == 422
    assert both.json()["error"]["code"]


def test_a_corrupt_frame_is_a_422_not_a_crash(
    active_client: TestClient, setup: Setup, face_png: bytes
) -> None:
    nonce = str(_challenge(active_client, setup.device_key, face_png)["nonce"])
    buffer = io.BytesIO(face_png[: len(face_png) // 3])
    response = _answer(active_client, setup.device_key, nonce, [face_png, buffer.getvalue()])
    assert response.status_code == 422, response.text


@pytest.mark.shared_data
def test_a_printed_photo_is_refused_at_a_passive_gate_with_the_alternatives(
    client: TestClient, store: Store, setup: Setup, pipeline: FacePipeline, shared_data_dir: Path
) -> None:
    """NUAA print attacks through the whole decision route (the shipped model was trained on
    these frames: this shows the wiring; ``facegate bench pad`` measures generalisation)."""
    use_pipeline(client, pipeline)
    prints = sorted((shared_data_dir / "nuaa_photo_imposter_subset/images/ImposterRaw").glob("*/*"))
    refused = 0
    for path in prints[::40]:
        body = decide_face(client, setup.device_key, path.read_bytes()).json()
        assert body["outcome"] != "open"
        if body["reason"] == "liveness_failed":
            refused += 1
            assert body["check"] == "passive"
            assert body["alternatives"] == ALTERNATIVES
            assert _last_liveness(store) == ("liveness_failed", "passive_attack")
    assert refused >= len(prints[::40]) - 1


class _FollowsEveryChallenge:
    """The shipped passive check, and an active check that passes every answer as a live
    person's (its face: the first frame's), noting the steps it was asked to check."""

    def __init__(self, shipped: LivenessCheck) -> None:
        self.shipped = shipped
        self.asked: list[tuple[Challenge, ...]] = []

    def passive(self, image: RGBImage, box: Box) -> LivenessResult:
        return self.shipped.passive(image, box)

    def active(
        self,
        frames: Sequence[RGBImage],
        steps: Sequence[Challenge],
        pipeline: FacePipeline,
        identity_threshold: float,
    ) -> ChallengeAnswer:
        self.asked.append(tuple(steps))
        baseline = pipeline.subject(frames[0], Selection.LARGEST)
        return ChallengeAnswer(LivenessResult(True, ACTIVE_OK, "L,R,C"), baseline)


@pytest.mark.rule("R-08", "R-27")
@pytest.mark.parametrize("wrong", ["another device", "another gate"])
def test_a_nonce_tried_elsewhere_is_refused_audited_and_still_answers_at_its_own_device(
    active_client: TestClient, store: Store, setup: Setup, face_png: bytes, wrong: str
) -> None:
    store.gates.configure(
        SITE, "side", "Side gate",
        accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
        liveness=LivenessLevel.PASSIVE_ACTIVE, actor=OPERATOR,
    )  # fmt: skip
    kiosk = store.devices.register(SITE, "Kiosk 2", ["main", "side"], actor=OPERATOR)
    resident = enrolled_resident(active_client, store, kiosk.api_key, face_png, SITE)
    follows = _FollowsEveryChallenge(_state(active_client).liveness)
    hook: LivenessCheck = follows
    active_client.app.dependency_overrides[liveness_check] = lambda: hook  # type: ignore[attr-defined]
    challenge = _challenge(active_client, kiosk.api_key, face_png)
    nonce, steps = str(challenge["nonce"]), challenge["steps"]
    # Kiosk 1 serves "main" only; Kiosk 2 tries its own nonce at its other gate.
    key, gate = (setup.device_key, "main") if wrong == "another device" else (kiosk.api_key, "side")
    kiosk_1 = next(d for d in store.devices.list(SITE) if d.name == "Kiosk 1")
    wrong_device = kiosk_1 if wrong == "another device" else kiosk.info

    refused = _answer(active_client, key, nonce, [face_png] * 4, gate=gate)
    assert refused.status_code == 200, refused.text
    body = refused.json()
    assert (body["outcome"], body["reason"], body["check"]) == (
        "try_another", "liveness_failed", "challenge",
    )  # fmt: skip
    assert body["alternatives"] == ALTERNATIVES
    assert follows.asked == [], "a refused nonce checks no frames"
    event = recent_decisions(store, SITE, 1)[0]
    assert event.actor == f"device:{wrong_device.id}"
    assert (event.detail["gate"], event.detail["device"]) == (gate, wrong_device.id)
    assert (event.detail["outcome"], event.detail["reason"]) == ("try_another", "liveness_failed")
    assert (event.detail["liveness"], event.detail["check"]) == ("nonce_mismatch", "challenge")

    # The attempt elsewhere spent nothing: the kiosk it was issued to answers, and opens.
    opened = _answer(active_client, kiosk.api_key, nonce, [face_png] * 4)
    assert (opened.json()["outcome"], opened.json()["reason"]) == ("open", "ok")
    assert "check" not in opened.json()
    assert [list(asked) for asked in follows.asked] == [steps]
    event = recent_decisions(store, SITE, 1)[0]
    assert (event.subject_id, event.detail["liveness"]) == (resident.id, ACTIVE_OK)
    assert "check" not in event.detail
    # Spent now, for everyone.
    late = _answer(active_client, key, nonce, [face_png] * 4, gate=gate)
    assert (late.json()["reason"], late.json()["check"]) == ("liveness_failed", "challenge")
    assert _last_liveness(store) == ("liveness_failed", "unknown_nonce")


def test_a_new_face_gate_asks_for_the_challenge_unless_passive_is_named(
    client: TestClient, store: Store, setup: Setup, pipeline: FacePipeline, face_png: bytes
) -> None:
    use_pipeline(client, pipeline)
    admin = bearer(admin_token(client, setup.admin_user))
    gate = {"name": "Back gate", "accepts_face": True, "accepts_card": True,
            "accepts_pin": False, "accepts_otp": False}  # fmt: skip
    created = client.put(f"{API}/sites/{SITE}/gates/back", json=gate, headers=admin)
    assert created.status_code == 200, created.text
    assert created.json()["liveness"] == "passive_active"
    assert store.gates.get(SITE, "back").liveness is LivenessLevel.PASSIVE_ACTIVE
    kiosk = store.devices.register(SITE, "Back kiosk", ["back"], actor=OPERATOR)

    def face_at_back() -> dict[str, object]:
        response = client.post(
            DECISIONS,
            data={"gate": "back", "kind": "face"},
            files={"image": ("frame.png", face_png, "image/png")},
            headers=device_headers(kiosk.api_key),
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    asked = face_at_back()
    assert (asked["outcome"], asked["reason"]) == ("try_another", "challenge_required")
    assert asked["alternatives"] == ["card"]
    # Passive stays available, named.
    passive = client.put(
        f"{API}/sites/{SITE}/gates/back", json={**gate, "liveness": "passive"}, headers=admin
    )
    assert passive.json()["liveness"] == "passive"
    answered = face_at_back()
    assert (answered["outcome"], answered["reason"]) == ("deny", "not_recognized")
    assert "challenge" not in answered
