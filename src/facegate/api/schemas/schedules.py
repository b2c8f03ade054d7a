"""A gate's weekly schedule per kind, in and out (times are local ``HH:MM``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from facegate.store.schedules import (
    DEFAULT_TIMEZONE,
    MAX_WINDOWS,
    MINUTES_PER_DAY,
    GateScheduleInfo,
    ScheduleWindow,
)

_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")

ScheduledKind = Literal["face", "card", "pin", "otp"]


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minute: int) -> str:
    return "24:00" if minute == MINUTES_PER_DAY else f"{minute // 60:02d}:{minute % 60:02d}"


class WindowIn(BaseModel):
    kind: ScheduledKind
    days: list[int] = Field(min_length=1, max_length=7, description="0 Monday ... 6 Sunday")
    start: str = Field(description="local time HH:MM")
    end: str = Field(description="local time HH:MM, after start; 24:00 is midnight")

    @field_validator("start", "end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not _HHMM.fullmatch(value):
            raise ValueError("a time is HH:MM, 00:00 to 24:00")
        return value

    def window(self) -> ScheduleWindow:
        return ScheduleWindow(
            self.kind, frozenset(self.days), _minutes(self.start), _minutes(self.end)
        )


class ScheduleIn(BaseModel):
    """The gate's whole schedule (it replaces the previous one; no windows removes it)."""

    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=64)
    windows: list[WindowIn] = Field(default_factory=list, max_length=MAX_WINDOWS)


class WindowOut(BaseModel):
    kind: str
    days: list[int]
    start: str
    end: str


class ScheduleOut(BaseModel):
    gate: str
    timezone: str
    windows: list[WindowOut]
    updated_at: datetime | None

    @classmethod
    def of(cls, info: GateScheduleInfo) -> ScheduleOut:
        return cls(
            gate=info.gate_code,
            timezone=info.timezone,
            windows=[
                WindowOut(
                    kind=w.kind,
                    days=sorted(w.days),
                    start=_hhmm(w.start_minute),
                    end=_hhmm(w.end_minute),
                )
                for w in info.windows
            ],
            updated_at=info.updated_at,
        )
