"""Gate schedules at the gate: the face and the non-face kinds, inside and outside their
windows, with the schedule's clock fixed. No schedule is the old behaviour."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from facegate.store import AuditAction, Store
from facegate.store.schedules import ScheduleWindow
from facegate.store.schema import AuditEvent
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import decide, decide_face, enrolled_resident, use_pipeline
from tests.store.helpers import OPERATOR

EVERY_DAY = frozenset(range(7))
#: Faces 07:00-20:00 and cards 06:00-23:00, Shanghai time; PINs and codes at any time.
DAYTIME = (
    ScheduleWindow("face", EVERY_DAY, 7 * 60, 20 * 60),
    ScheduleWindow("card", EVERY_DAY, 6 * 60, 23 * 60),
)
#: 12:00 and 23:30 in Shanghai (UTC+8) on Wednesday 2026-12-09.
NOON = datetime(2026, 12, 9, 4, 0, tzinfo=UTC)
NIGHT = datetime(2026, 12, 9, 15, 30, tzinfo=UTC)


@pytest.fixture
def scheduled(store: Store, setup: Setup) -> Store:
    store.schedules.set(SITE, setup.gate, DAYTIME, actor=OPERATOR)
    return store


def test_a_face_outside_its_window_is_denied_and_audited(
    client: TestClient,
    scheduled: Store,
    setup: Setup,
    pipeline: FacePipeline,
    face_png: bytes,
) -> None:
    use_pipeline(client, pipeline)
    resident = enrolled_resident(client, scheduled, setup.device_key, face_png, SITE)
    scheduled.schedules.clock = lambda: NIGHT
    night = decide_face(client, setup.device_key, face_png)
    assert night.status_code == 200, night.text
    assert (night.json()["outcome"], night.json()["reason"]) == ("deny", "outside_schedule")
    # The kiosk still lists the ways in without the face.
    assert set(night.json()["alternatives"]) == {"card", "pin", "otp"}
    scheduled.schedules.clock = lambda: NOON
    noon = decide_face(client, setup.device_key, face_png)
    assert (noon.json()["outcome"], noon.json()["reason"]) == ("open", "ok")
    with scheduled.reading() as session:
        details = session.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == AuditAction.DECISION_IDENTIFY.value)
            .order_by(AuditEvent.id)
        ).all()
    reasons = [json.loads(detail)["reason"] for detail in details]
    assert reasons == ["outside_schedule", "ok"]
    assert noon.json()["decision_id"] in [e.id for e in scheduled.audit_events(resident.id)]


def test_a_card_outside_its_window_is_denied_but_a_pin_still_opens(
    client: TestClient, scheduled: Store, setup: Setup
) -> None:
    resident = scheduled.add_subject(SITE, "Li Lei", "resident", actor=OPERATOR)
    scheduled.credentials.issue_card(resident.id, "0077665544", OPERATOR)
    scheduled.credentials.set_pin(resident.id, "480213", OPERATOR)
    scheduled.schedules.clock = lambda: NIGHT
    card = decide(client, setup.device_key, "card", secret="0077665544")
    assert (card.json()["outcome"], card.json()["reason"]) == ("deny", "outside_schedule")
    assert resident.resident_number is not None
    pin = decide(
        client, setup.device_key, "pin", secret="480213", resident_number=resident.resident_number
    )
    assert pin.json()["outcome"] == "open"
    scheduled.schedules.clock = lambda: NOON
    card = decide(client, setup.device_key, "card", secret="0077665544")
    assert card.json()["outcome"] == "open"


def test_without_a_schedule_every_kind_opens_at_any_time(
    client: TestClient, store: Store, setup: Setup
) -> None:
    resident = store.add_subject(SITE, "Li Lei", "resident", actor=OPERATOR)
    store.credentials.issue_card(resident.id, "0077665544", OPERATOR)
    store.schedules.clock = lambda: NIGHT
    card = decide(client, setup.device_key, "card", secret="0077665544")
    assert card.json()["outcome"] == "open"
