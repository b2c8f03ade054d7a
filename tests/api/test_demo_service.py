"""The demo site behind ``make run``."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from facegate.core.config import Environment, Settings
from facegate.demo import DEMO_GATE, DEMO_SITE
from facegate.demo_service import DEMO_ADMIN, KIOSK_DEVICE, prepare_demo_service
from facegate.errors import AuthenticationError, ConfigError
from facegate.store import Store
from facegate.store.records import LivenessLevel
from facegate.vision.pipeline import FacePipeline
from tests.api.gate_helpers import DECISIONS, device_headers, use_pipeline


def test_demo_service_is_ready_to_try_and_rotates_the_kiosk_key(
    store: Store, settings: Settings
) -> None:
    first = prepare_demo_service(store, settings)
    assert first.admin_password is not None
    opened = store.accounts.sign_in_admin(DEMO_ADMIN, first.admin_password)
    assert opened.info.site_code == "demo"
    second = prepare_demo_service(store, settings)
    assert second.admin_password is None  # never shown again
    assert second.kiosk_fragment != first.kiosk_fragment
    kiosks = [d for d in store.devices.list("demo") if d.name == KIOSK_DEVICE]
    assert [d.revoked_at is None for d in kiosks] == [False, True]
    old_key = first.kiosk_fragment.split("key=")[1]
    with pytest.raises(AuthenticationError):
        store.devices.authenticate(old_key)
    resident = store.accounts.sign_in_resident("demo", second.resident_code)
    assert resident.info.role.value == "resident"


def test_demo_password_from_the_environment(store: Store, settings: Settings) -> None:
    chosen = settings.model_copy(update={"admin_password": SecretStr("a demo password 42")})
    access = prepare_demo_service(store, chosen)
    assert access.admin_password == "a demo password 42"
    store.accounts.sign_in_admin(DEMO_ADMIN, "a demo password 42")


def test_demo_service_is_refused_outside_development(store: Store, settings: Settings) -> None:
    production = settings.model_copy(update={"env": Environment.PRODUCTION})
    with pytest.raises(ConfigError, match="development only"):
        prepare_demo_service(store, production)


def test_a_face_at_the_demo_kiosk_is_asked_for_the_challenge(
    client: TestClient, store: Store, settings: Settings, pipeline: FacePipeline, face_png: bytes
) -> None:
    access = prepare_demo_service(store, settings)
    assert store.gates.get(DEMO_SITE, DEMO_GATE).liveness is LivenessLevel.PASSIVE_ACTIVE
    use_pipeline(client, pipeline)
    key = access.kiosk_fragment.split("key=")[1]
    response = client.post(
        DECISIONS,
        data={"gate": DEMO_GATE, "kind": "face"},
        files={"image": ("frame.png", face_png, "image/png")},
        headers=device_headers(key),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["outcome"], body["reason"]) == ("try_another", "challenge_required")
    assert body["alternatives"] == ["card", "pin", "otp"]
    assert set(body["challenge"]) == {"nonce", "steps", "expires_in"}
