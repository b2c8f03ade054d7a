"""Per-device rate limits (429 with Retry-After and the error body) and the PIN pad's back-off."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update

from facegate.api.ratelimit import DEVICE_DECISIONS, DEVICE_FACES, RateLimiter
from facegate.api.state import AppState
from facegate.store import Store
from facegate.store.backoff import FREE_FAILURES
from facegate.store.schema import GuessBackoff, utcnow
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


def test_a_pin_pad_answers_the_same_for_any_number_and_never_locks_a_resident_out(
    client: TestClient, store: Store, setup: Setup
) -> None:
    """A passer-by cannot tell a resident's number from an unknown one, nor lock it:
    wrong PINs make the number and the pad wait (capped), the right PIN then opens."""
    resident = consented_subject(store, SITE)
    store.credentials.set_pin(resident.id, "402917", actor=OPERATOR)
    assert resident.resident_number is not None
    unknown = "999999" if resident.resident_number != "999999" else "888888"
    pads = [
        store.devices.register(SITE, f"Pad {i}", ["main"], actor=OPERATOR).api_key for i in range(2)
    ]

    def answers(number: str, key: str) -> list[tuple[object, object, object]]:
        seen = []
        for _ in range(FREE_FAILURES + 2):
            body = decide(client, key, "pin", secret="111333", resident_number=number).json()
            seen.append((body["outcome"], body["reason"], body.get("retry_after")))
        return seen

    known = answers(resident.resident_number, pads[0])
    assert answers(unknown, pads[1]) == known
    assert known[-1] == ("try_another", "too_many_tries", 1)
    assert "locked" not in {reason for _, reason, _ in known}
    with store.transaction() as session:
        session.execute(update(GuessBackoff).values(blocked_until=utcnow()))
    right = decide(
        client, setup.device_key, "pin", secret="402917", resident_number=resident.resident_number
    )
    assert right.json()["outcome"] == "open"
