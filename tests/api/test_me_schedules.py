"""Gate schedules through the admin API: read, replace, and the R-10 refusal."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import SITE, Setup
from tests.api.signin import API, admin_token, bearer

SCHEDULE = f"{API}/sites/{SITE}/gates/main/schedule"
CARDS_DAYTIME = {"kind": "card", "days": [0, 1, 2, 3, 4, 5, 6], "start": "06:00", "end": "23:00"}


@pytest.fixture
def admin(client: TestClient, setup: Setup) -> dict[str, str]:
    return bearer(admin_token(client, setup.admin_user))


def test_no_schedule_then_a_schedule_then_none(client: TestClient, admin: dict[str, str]) -> None:
    empty = client.get(SCHEDULE, headers=admin)
    assert empty.status_code == 200
    assert empty.json()["windows"] == []
    body = {"timezone": "Asia/Shanghai", "windows": [CARDS_DAYTIME]}
    saved = client.put(SCHEDULE, json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["windows"] == [CARDS_DAYTIME]
    assert client.get(SCHEDULE, headers=admin).json()["windows"] == [CARDS_DAYTIME]
    midnight = {**CARDS_DAYTIME, "start": "18:00", "end": "24:00"}
    assert client.put(SCHEDULE, json={"windows": [midnight]}, headers=admin).json()["windows"] == [
        midnight
    ]
    cleared = client.put(SCHEDULE, json={"windows": []}, headers=admin)
    assert cleared.json()["windows"] == []


@pytest.mark.rule("R-10")
def test_a_schedule_leaving_only_the_face_is_refused_with_a_reason(
    client: TestClient, admin: dict[str, str]
) -> None:
    daytime = [
        {**CARDS_DAYTIME, "kind": kind} for kind in ("card", "pin", "otp")
    ]  # face at any time, everything else only by day
    refused = client.put(SCHEDULE, json={"windows": daytime}, headers=admin)
    assert refused.status_code == 409
    assert refused.json()["error"]["reason"] == "schedule_face_only"
    assert client.get(SCHEDULE, headers=admin).json()["windows"] == []


@pytest.mark.parametrize(
    "window",
    [
        {**CARDS_DAYTIME, "start": "25:00"},
        {**CARDS_DAYTIME, "kind": "palm"},
        {**CARDS_DAYTIME, "days": []},
        {**CARDS_DAYTIME, "start": "23:00", "end": "06:00"},
    ],
)
def test_malformed_windows_are_refused(
    client: TestClient, admin: dict[str, str], window: dict[str, object]
) -> None:
    refused = client.put(SCHEDULE, json={"windows": [window]}, headers=admin)
    assert refused.status_code == 422


def test_an_unknown_gate_is_404(client: TestClient, admin: dict[str, str]) -> None:
    missing = client.get(f"{API}/sites/{SITE}/gates/nowhere/schedule", headers=admin)
    assert missing.status_code == 404
