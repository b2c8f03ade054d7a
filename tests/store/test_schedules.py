"""Gate schedules: when each kind may open a gate, and R-10 at every minute of the week."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy import select

from facegate.errors import InvalidRecordError, PolicyError
from facegate.store import AuditAction, Store
from facegate.store.audit import MAX_DETAIL_TEXT, DetailValue
from facegate.store.records import CredentialReason, GateOutcome
from facegate.store.schedules import (
    DEFAULT_TIMEZONE,
    MAX_WINDOWS,
    GateScheduleInfo,
    ScheduleWindow,
    face_only_minute,
)
from facegate.store.schema import TIMEZONE_LENGTH, AuditEvent

from .helpers import OPERATOR, SITE_CODE, ready_site

EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
#: Cards only 06:00-23:00, every day (local time).
CARDS_DAYTIME = ScheduleWindow("card", EVERY_DAY, 6 * 60, 23 * 60)
#: Wednesday 2026-12-09 in Shanghai (UTC+8): 05:30, 12:00 and 23:30 local.
EARLY = datetime(2026, 12, 8, 21, 30, tzinfo=UTC)
NOON = datetime(2026, 12, 9, 4, 0, tzinfo=UTC)
LATE = datetime(2026, 12, 9, 15, 30, tzinfo=UTC)


def last_event(store: Store) -> tuple[str, dict[str, DetailValue]]:
    """The newest audit event's action and detail."""
    with store.reading() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None
        detail: dict[str, DetailValue] = json.loads(event.detail)
        return event.action, detail


@pytest.fixture
def gate(store: Store) -> str:
    ready_site(store)
    store.gates.configure(
        SITE_CODE, "north", "North gate",
        accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=False,
        actor=OPERATOR,
    )  # fmt: skip
    return "north"


def test_no_schedule_allows_every_kind_at_any_time() -> None:
    empty = GateScheduleInfo(gate_code="north", timezone=DEFAULT_TIMEZONE)
    assert all(empty.allows(kind, at) for kind in ("face", "card") for at in (EARLY, LATE))


def test_a_window_is_read_in_the_schedules_local_time() -> None:
    schedule = GateScheduleInfo("north", "Asia/Shanghai", (CARDS_DAYTIME,))
    assert [schedule.allows("card", at) for at in (EARLY, NOON, LATE)] == [False, True, False]
    # Other kinds have no window: the schedule does not narrow them.
    assert schedule.allows("pin", EARLY) is True
    in_utc = GateScheduleInfo("north", "UTC", (CARDS_DAYTIME,))
    assert [in_utc.allows("card", at) for at in (EARLY, NOON, LATE)] == [True, False, True]


def test_weekdays_only_window_is_closed_at_the_weekend() -> None:
    schedule = GateScheduleInfo("north", "UTC", (ScheduleWindow("card", WEEKDAYS, 0, 1440),))
    saturday = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)
    assert schedule.allows("card", NOON) is True
    assert schedule.allows("card", saturday) is False


def test_set_get_and_clear_a_schedule_audited(store: Store, gate: str) -> None:
    saved = store.schedules.set(SITE_CODE, gate, [CARDS_DAYTIME], actor=OPERATOR)
    assert saved.windows == (CARDS_DAYTIME,)
    assert saved.timezone == DEFAULT_TIMEZONE
    assert store.schedules.get(SITE_CODE, gate) == saved
    action, detail = last_event(store)
    assert action == AuditAction.GATE_CONFIGURED.value
    assert detail["schedule"] == "card 0123456 06:00-23:00"
    cleared = store.schedules.set(SITE_CODE, gate, [], actor=OPERATOR)
    assert cleared.windows == ()
    assert store.schedules.get(SITE_CODE, gate).windows == ()


@pytest.mark.rule("R-10")
def test_a_schedule_that_lets_only_faces_in_at_some_time_is_refused(
    store: Store, gate: str
) -> None:
    # Face always (no window), cards and PINs only by day: at night only the face would open.
    night_gap = [CARDS_DAYTIME, ScheduleWindow("pin", EVERY_DAY, 6 * 60, 23 * 60)]
    with pytest.raises(PolicyError) as refused:
        store.schedules.set(SITE_CODE, gate, night_gap, actor=OPERATOR)
    assert refused.value.reason == "schedule_face_only"
    assert store.schedules.get(SITE_CODE, gate).windows == ()
    # The same, with faces limited to the same hours, is fine.
    face_daytime = ScheduleWindow("face", EVERY_DAY, 6 * 60, 23 * 60)
    store.schedules.set(SITE_CODE, gate, [*night_gap, face_daytime], actor=OPERATOR)
    # Cards by day and PINs (no window) at any time: fine as well.
    store.schedules.set(SITE_CODE, gate, [CARDS_DAYTIME], actor=OPERATOR)


@pytest.mark.rule("R-10")
def test_face_only_minute_finds_the_first_gap() -> None:
    accepts = {"face": True, "card": True, "pin": False, "otp": False}
    assert face_only_minute([CARDS_DAYTIME], accepts) == (0, 0)
    assert face_only_minute([CARDS_DAYTIME], {**accepts, "face": False}) is None
    assert face_only_minute([CARDS_DAYTIME], {**accepts, "pin": True}) is None


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        (ScheduleWindow("card", EVERY_DAY, 600, 600), "window_order"),
        (ScheduleWindow("card", EVERY_DAY, 0, 1441), "window_order"),
        (ScheduleWindow("card", frozenset(), 0, 60), None),
        (ScheduleWindow("card", frozenset({7}), 0, 60), None),
        (ScheduleWindow("palm", EVERY_DAY, 0, 60), None),
    ],
)
def test_malformed_windows_are_refused(
    store: Store, gate: str, window: ScheduleWindow, reason: str | None
) -> None:
    with pytest.raises(InvalidRecordError) as refused:
        store.schedules.set(SITE_CODE, gate, [window], actor=OPERATOR)
    assert refused.value.reason == reason


def test_an_unknown_time_zone_is_refused(store: Store, gate: str) -> None:
    with pytest.raises(InvalidRecordError) as refused:
        store.schedules.set(SITE_CODE, gate, [CARDS_DAYTIME], timezone="Mars/Base", actor=OPERATOR)
    assert refused.value.reason == "unknown_timezone"


@pytest.mark.parametrize(
    "timezone",
    [
        pytest.param("", id="empty"),
        pytest.param("Asia/" + "x" * TIMEZONE_LENGTH, id="over-long"),
        pytest.param(8, id="not-text"),
        pytest.param(None, id="none"),
    ],
)
def test_a_malformed_time_zone_is_refused_and_nothing_is_saved(
    store: Store, gate: str, timezone: object
) -> None:
    with pytest.raises(InvalidRecordError) as refused:
        store.schedules.set(
            SITE_CODE, gate, [CARDS_DAYTIME], timezone=cast(str, timezone), actor=OPERATOR
        )
    assert (refused.value.code, refused.value.reason) == ("invalid_record", "timezone_format")
    assert store.schedules.get(SITE_CODE, gate).windows == ()


def test_a_schedule_holds_at_most_max_windows_and_its_audit_line_fits(
    store: Store, gate: str
) -> None:
    windows = [
        ScheduleWindow("card", frozenset({n % 7}), 6 * 60, 23 * 60) for n in range(MAX_WINDOWS)
    ]
    assert len(windows) == MAX_WINDOWS
    saved = store.schedules.set(SITE_CODE, gate, windows, actor=OPERATOR)
    assert len(saved.windows) == MAX_WINDOWS
    # The audit line names the first windows and how many more: one detail value holds it.
    _, detail = last_event(store)
    summary = str(detail["schedule"])
    assert summary.startswith("card 0 06:00-23:00; card 1 06:00-23:00; ")
    *named, rest = summary.split("; ")
    left_out = re.fullmatch(r"\+(\d+) more", rest)
    assert left_out
    assert len(named) + int(left_out.group(1)) == MAX_WINDOWS
    assert len(summary) <= MAX_DETAIL_TEXT
    with pytest.raises(InvalidRecordError) as refused:
        store.schedules.set(SITE_CODE, gate, [*windows, CARDS_DAYTIME], actor=OPERATOR)
    assert (refused.value.code, refused.value.reason) == ("invalid_record", "too_many_windows")
    # The refused schedule did not replace the saved one.
    assert len(store.schedules.get(SITE_CODE, gate).windows) == MAX_WINDOWS


def test_a_card_outside_its_window_is_denied_and_audited(store: Store, gate: str) -> None:
    subject = store.add_subject(SITE_CODE, "Li Lei", "resident", actor=OPERATOR)
    store.credentials.issue_card(subject.id, "CARD-0042", OPERATOR)
    store.schedules.set(SITE_CODE, gate, [CARDS_DAYTIME], actor=OPERATOR)
    store.schedules.clock = lambda: LATE
    late = store.credentials.check(SITE_CODE, gate, "card", "CARD-0042", actor="device:x")
    assert (late.outcome, late.reason) == (GateOutcome.DENY, CredentialReason.OUTSIDE_SCHEDULE)
    assert late.subject_id is None
    assert last_event(store) == (
        AuditAction.DECISION_CREDENTIAL.value,
        {**last_event(store)[1], "reason": "outside_schedule", "outcome": "deny"},
    )
    store.schedules.clock = lambda: NOON
    noon = store.credentials.check(SITE_CODE, gate, "card", "CARD-0042", actor="device:x")
    assert (noon.outcome, noon.reason) == (GateOutcome.OPEN, CredentialReason.OK)


@pytest.mark.rule("R-10")
def test_a_gate_cannot_drop_the_kind_its_schedule_relies_on(store: Store, gate: str) -> None:
    # Faces at any time, cards by day, PINs at any time: fine while the gate takes PINs.
    store.schedules.set(SITE_CODE, gate, [CARDS_DAYTIME], actor=OPERATOR)
    with pytest.raises(PolicyError) as refused:
        store.gates.configure(
            SITE_CODE, gate, "North gate",
            accepts_face=True, accepts_card=True, accepts_pin=False, accepts_otp=False,
            actor=OPERATOR,
        )  # fmt: skip
    assert refused.value.reason == "schedule_face_only"
    assert store.gates.get(SITE_CODE, gate).accepts_pin is True
    # One-time codes instead of PINs (no window: any time) keep a way in at night.
    store.gates.configure(
        SITE_CODE, gate, "North gate",
        accepts_face=True, accepts_card=True, accepts_pin=False, accepts_otp=True,
        actor=OPERATOR,
    )  # fmt: skip
