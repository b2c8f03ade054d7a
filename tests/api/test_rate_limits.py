"""Per-device and per-subject rate limits: 429 with Retry-After and the error body."""

from __future__ import annotations

from fastapi.testclient import TestClient

from facegate.api.ratelimit import DEVICE_DECISIONS, DEVICE_FACES, SUBJECT_SECRETS, RateLimiter
from facegate.api.state import AppState
from facegate.store import Store
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import decide, device_headers
from tests.store.helpers import OPERATOR, consented_subject


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fake_limiter(client: TestClient) -> FakeClock:
    clock = FakeClock()
    state: AppState = client.app.state.facegate  # type: ignore[attr-defined]
    state.limiter = RateLimiter(clock=clock)
    return clock


def _assert_limited(response_status: int, headers: dict[str, str], body: dict[str, object]) -> None:
    assert response_status == 429
    assert int(headers["retry-after"]) >= 1
    assert body["error"]["code"] == "rate_limited"  # type: ignore[index]


def test_device_decisions_are_limited_per_device(
    client: TestClient, store: Store, setup: Setup
) -> None:
    clock = _fake_limiter(client)
    for _ in range(DEVICE_DECISIONS.events):
        assert decide(client, setup.device_key, "card", secret="0BADCAFE").status_code == 200
    refused = decide(client, setup.device_key, "card", secret="0BADCAFE")
    _assert_limited(refused.status_code, dict(refused.headers), refused.json())
    # Another device is not slowed down by this one.
    other = store.devices.register(SITE, "Kiosk 2", ["main"], actor=OPERATOR)
    assert decide(client, other.api_key, "card", secret="0BADCAFE").status_code == 200
    clock.now += DEVICE_DECISIONS.per_seconds
    assert decide(client, setup.device_key, "card", secret="0BADCAFE").status_code == 200
    metrics = client.get("/metrics").text
    assert 'facegate_rate_limited_total{limit="device_decisions"} 1.0' in metrics


def test_faces_are_limited_per_device(client: TestClient, setup: Setup) -> None:
    _fake_limiter(client)
    frame = {"image": ("f.png", b"not an image", "image/png")}
    for _ in range(DEVICE_FACES.events):
        response = client.post(
            "/api/v1/decisions",
            data={"gate": "main", "kind": "face"},
            files=frame,
            headers=device_headers(setup.device_key),
        )
        assert response.status_code == 422
    refused = client.post(
        "/api/v1/decisions",
        data={"gate": "main", "kind": "face"},
        files=frame,
        headers=device_headers(setup.device_key),
    )
    _assert_limited(refused.status_code, dict(refused.headers), refused.json())
    # Cards still pass at this device.
    assert decide(client, setup.device_key, "card", secret="0BADCAFE").status_code == 200


def test_pins_are_limited_per_claimed_subject(
    client: TestClient, store: Store, setup: Setup
) -> None:
    _fake_limiter(client)
    subject = consented_subject(store, SITE)
    other = consented_subject(store, SITE, name="Li Si")
    store.credentials.set_pin(other.id, "402917", actor=OPERATOR)
    # Spread over devices: the limit is per subject, not per device.
    keys = [setup.device_key] + [
        store.devices.register(SITE, f"Kiosk {i}", ["main"], actor=OPERATOR).api_key
        for i in range(2)
    ]
    for attempt in range(SUBJECT_SECRETS.events):
        key = keys[attempt % len(keys)]
        response = decide(client, key, "pin", secret="111333", subject_id=subject.id)
        assert response.status_code == 200
    refused = decide(client, keys[0], "pin", secret="111333", subject_id=subject.id)
    _assert_limited(refused.status_code, dict(refused.headers), refused.json())
    opened = decide(client, keys[0], "pin", secret="402917", subject_id=other.id)
    assert opened.json()["outcome"] == "open"
