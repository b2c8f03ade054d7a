"""Weekly schedules per gate and kind: when a face, card, PIN or one-time code may open it.

A gate without a schedule lets every kind it accepts in at any time, and so does a kind
with no window in a gate's schedule: a schedule only narrows. Windows are wall-clock times
in the schedule's time zone (an IANA name; the site has no time zone of its own), so a
window means the same local hours across daylight-saving changes.

R-10 holds at every minute of the week: a schedule that lets the face in when no card, PIN
or one-time code the gate accepts may open it is refused (``reason="schedule_face_only"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from facegate.errors import InvalidRecordError, PolicyError
from facegate.store.audit import MAX_DETAIL_TEXT, AuditAction
from facegate.store.gates import gate_by_code
from facegate.store.module import StoreModule
from facegate.store.schema import (
    TIMEZONE_LENGTH,
    Gate,
    GateSchedule,
    GateScheduleWindow,
    new_id,
    utcnow,
)

if TYPE_CHECKING:
    from facegate.store.service import Store

#: The kinds a schedule names: the face and the non-face credentials.
FACE = "face"
NON_FACE_KINDS = ("card", "pin", "otp")
SCHEDULED_KINDS = (FACE, *NON_FACE_KINDS)
MINUTES_PER_DAY = 24 * 60
DAYS_PER_WEEK = 7
MINUTES_PER_WEEK = MINUTES_PER_DAY * DAYS_PER_WEEK
#: The time zone of a schedule saved without one: the communities this serves are in China.
DEFAULT_TIMEZONE = "Asia/Shanghai"
#: Enough for a different window each day for every kind, twice.
MAX_WINDOWS = 56


@dataclass(frozen=True, slots=True)
class ScheduleWindow:
    """When ``kind`` may open: on ``days`` (0 Monday ... 6 Sunday), from ``start_minute``
    to ``end_minute`` (minutes after local midnight; the end is excluded, 1440 is midnight)."""

    kind: str
    days: frozenset[int]
    start_minute: int
    end_minute: int

    def covers(self, weekday: int, minute: int) -> bool:
        return weekday in self.days and self.start_minute <= minute < self.end_minute


@dataclass(frozen=True, slots=True)
class GateScheduleInfo:
    """A gate's schedule; ``windows`` empty means no schedule (every kind, any time)."""

    gate_code: str
    timezone: str
    windows: tuple[ScheduleWindow, ...] = ()
    updated_at: datetime | None = None

    def allows(self, kind: str, at: datetime) -> bool:
        """Whether ``kind`` may open the gate at the aware time ``at``."""
        own = [window for window in self.windows if window.kind == kind]
        if not own:
            return True
        local = at.astimezone(ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        return any(window.covers(local.weekday(), minute) for window in own)


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows, else ``InvalidRecordError``."""
    if not isinstance(name, str) or not name or len(name) > TIMEZONE_LENGTH:
        raise InvalidRecordError(
            f"timezone must be an IANA name such as Asia/Shanghai, at most {TIMEZONE_LENGTH} "
            "characters",
            reason="timezone_format",
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRecordError(
            f"timezone {name!r} is not a known IANA time zone", reason="unknown_timezone"
        ) from None
    return name


def check_window(window: ScheduleWindow) -> ScheduleWindow:
    """``window`` if its kind, days and minutes make sense, else ``InvalidRecordError``."""
    if window.kind not in SCHEDULED_KINDS:
        raise InvalidRecordError(f"kind {window.kind!r} is not one of {', '.join(SCHEDULED_KINDS)}")
    if not window.days or not window.days <= set(range(DAYS_PER_WEEK)):
        raise InvalidRecordError("days are 0 (Monday) to 6 (Sunday), at least one")
    if not 0 <= window.start_minute < window.end_minute <= MINUTES_PER_DAY:
        raise InvalidRecordError(
            "a window starts before it ends, within one day (00:00 to 24:00)",
            reason="window_order",
        )
    return window


def face_only_minute(
    windows: Sequence[ScheduleWindow], accepts: dict[str, bool]
) -> tuple[int, int] | None:
    """The first (weekday, minute) at which the face may open but no accepted non-face kind
    may (R-10), or None when there is none. ``accepts`` says which kinds the gate takes."""
    if not accepts.get(FACE, False):
        return None
    allowed = {kind: _week(windows, kind) for kind in SCHEDULED_KINDS}
    for minute in range(MINUTES_PER_WEEK):
        if not allowed[FACE][minute]:
            continue
        if not any(accepts.get(kind, False) and allowed[kind][minute] for kind in NON_FACE_KINDS):
            return divmod(minute, MINUTES_PER_DAY)
    return None


def _week(windows: Iterable[ScheduleWindow], kind: str) -> bytearray:
    """One byte per minute of the week: 1 where ``kind`` may open."""
    own = [window for window in windows if window.kind == kind]
    if not own:
        return bytearray(b"\x01" * MINUTES_PER_WEEK)
    week = bytearray(MINUTES_PER_WEEK)
    for window in own:
        for day in window.days:
            start = day * MINUTES_PER_DAY
            week[start + window.start_minute : start + window.end_minute] = b"\x01" * (
                window.end_minute - window.start_minute
            )
    return week


def _days_mask(days: frozenset[int]) -> int:
    return sum(1 << day for day in days)


def _days_of(mask: int) -> frozenset[int]:
    return frozenset(day for day in range(DAYS_PER_WEEK) if mask >> day & 1)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _summary(windows: Sequence[ScheduleWindow]) -> str:
    """The windows as audit text ("card 0123456 06:00-23:00; ..."), cut to fit one audit
    detail value: a long schedule ends with how many windows it leaves out."""
    parts = [
        f"{w.kind} {''.join(str(d) for d in sorted(w.days))} "
        f"{_hhmm(w.start_minute)}-{_hhmm(w.end_minute)}"
        for w in windows
    ]
    shown = len(parts)
    text = "; ".join(parts) or "none"
    while len(text) > MAX_DETAIL_TEXT:
        shown -= 1
        text = "; ".join([*parts[:shown], f"+{len(parts) - shown} more"])
    return text


class Schedules(StoreModule):
    """Gate schedules: read, replace, and the check every gate decision makes."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        #: The time decisions are checked at; tests set a fixed one.
        self.clock: Callable[[], datetime] = utcnow

    def get(self, site_code: str, gate_code: str) -> GateScheduleInfo:
        """The gate's schedule (no windows: none set). ``NotFoundError`` for an unknown gate."""
        with self._store.reading() as session:
            gate = gate_by_code(session, site_code, gate_code)
            return _schedule_of(session, gate)

    def set(
        self,
        site_code: str,
        gate_code: str,
        windows: Sequence[ScheduleWindow],
        *,
        timezone: str = DEFAULT_TIMEZONE,
        actor: str,
    ) -> GateScheduleInfo:
        """Replace the gate's schedule with ``windows`` (none: remove it); audited.

        ``PolicyError`` (reason ``schedule_face_only``, R-10) when the face could open the
        gate at a time no card, PIN or one-time code it accepts could.
        """
        timezone = check_timezone(timezone)
        if len(windows) > MAX_WINDOWS:
            raise InvalidRecordError(
                f"a schedule holds at most {MAX_WINDOWS} windows", reason="too_many_windows"
            )
        checked = tuple(check_window(window) for window in windows)
        with self._store.transaction() as session:
            gate = gate_by_code(session, site_code, gate_code)
            _refuse_face_only(gate, checked)
            session.execute(delete(GateScheduleWindow).where(GateScheduleWindow.gate_id == gate.id))
            session.execute(delete(GateSchedule).where(GateSchedule.gate_id == gate.id))
            if checked:
                session.add(GateSchedule(gate_id=gate.id, timezone=timezone, updated_at=utcnow()))
                session.flush()
                session.add_all(
                    GateScheduleWindow(
                        id=new_id(),
                        gate_id=gate.id,
                        kind=window.kind,
                        days=_days_mask(window.days),
                        start_minute=window.start_minute,
                        end_minute=window.end_minute,
                    )
                    for window in checked
                )
            self._store.audit(
                session,
                actor,
                AuditAction.GATE_CONFIGURED,
                site_id=gate.site_id,
                detail={
                    "gate": gate.code,
                    "schedule": _summary(checked),
                    "timezone": timezone,
                },
            )
            session.flush()
            return _schedule_of(session, gate)

    def check_gate(self, session: Session, gate: Gate) -> None:
        """Refuse (R-10, ``schedule_face_only``) what ``gate`` now accepts, in the caller's
        transaction, if its schedule would leave only the face at some time: a gate
        reconfigured to drop the kind its schedule relied on."""
        _refuse_face_only(gate, _schedule_of(session, gate).windows)

    def allows(self, session: Session, gate: Gate, kind: str) -> bool:
        """Whether ``kind`` may open ``gate`` now (``clock``), in the caller's transaction."""
        return _schedule_of(session, gate).allows(kind, self.clock())

    def allows_now(self, site_code: str, gate_code: str, kind: str) -> bool:
        """:meth:`allows` in a read transaction of its own (the face decider's check)."""
        with self._store.reading() as session:
            return self.allows(session, gate_by_code(session, site_code, gate_code), kind)


def _refuse_face_only(gate: Gate, windows: Sequence[ScheduleWindow]) -> None:
    accepts = {
        FACE: gate.accepts_face,
        "card": gate.accepts_card,
        "pin": gate.accepts_pin,
        "otp": gate.accepts_otp,
    }
    gap = face_only_minute(windows, accepts)
    if gap is not None:
        day, minute = gap
        raise PolicyError(
            f"at {_hhmm(minute)} on day {day} (0 is Monday) the face would open gate "
            f"{gate.code!r} but no card, PIN or one-time code would: every door must "
            "let people in without their face whenever it lets faces in (R-10)",
            reason="schedule_face_only",
        )


def _schedule_of(session: Session, gate: Gate) -> GateScheduleInfo:
    schedule = session.get(GateSchedule, gate.id)
    if schedule is None:
        return GateScheduleInfo(gate_code=gate.code, timezone=DEFAULT_TIMEZONE)
    rows = session.scalars(
        select(GateScheduleWindow)
        .where(GateScheduleWindow.gate_id == gate.id)
        .order_by(
            GateScheduleWindow.kind,
            GateScheduleWindow.start_minute,
            GateScheduleWindow.end_minute,
            GateScheduleWindow.days,
        )
    )
    return GateScheduleInfo(
        gate_code=gate.code,
        timezone=schedule.timezone,
        windows=tuple(
            ScheduleWindow(row.kind, _days_of(row.days), row.start_minute, row.end_minute)
            for row in rows
        ),
        updated_at=schedule.updated_at,
    )
