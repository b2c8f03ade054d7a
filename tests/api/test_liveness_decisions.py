"""Liveness in the gate decision: passive on every face, a challenge where the gate asks.

The real app, store, pipeline and shipped PAD model; the challenge issuer gets a fake clock
only where expiry is tested.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image

from facegate.api.state import AppState
from facegate.fixtures import astronaut, encode_png
from facegate.liveness.challenge import ChallengeIssuer
from facegate.store import Store
from facegate.store.audit import AuditAction
from facegate.store.records import LivenessLevel
from facegate.store.site_reads import recent_decisions
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import DECISIONS, decide_face, device_headers, use_pipeline
from tests.store.helpers import OPERATOR


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


def _answer(client: TestClient, key: str, nonce: str, frames: list[bytes]) -> Response:
    response: Response = client.post(
        DECISIONS,
        data={"gate": "main", "kind": "face", "challenge": nonce},
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
    assert body["alternatives"] == ["card", "pin", "otp"]
    assert _last_liveness(store) == ("liveness_failed", "active_challenge_not_followed")


def test_a_nonce_is_single_use(
    active_client: TestClient, store: Store, setup: Setup, face_png: bytes
) -> None:
    nonce = str(_challenge(active_client, setup.device_key, face_png)["nonce"])
    _answer(active_client, setup.device_key, nonce, [face_png] * 4)
    again = _answer(active_client, setup.device_key, nonce, [face_png] * 4)
    assert again.json()["reason"] == "liveness_failed"
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
    assert response.json()["reason"] == "liveness_failed"
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
    assert response.json()["reason"] == "liveness_failed"
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
            assert body["alternatives"] == ["card", "pin", "otp"]
            assert _last_liveness(store) == ("liveness_failed", "passive_attack")
    assert refused >= len(prints[::40]) - 1
