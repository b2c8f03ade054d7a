"""Gates and gate devices."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facegate.store.accounts import DeviceInfo
from facegate.store.gates import DEFAULT_LIVENESS
from facegate.store.records import GateInfo, LivenessLevel


class GateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    accepts_face: bool
    accepts_card: bool
    accepts_pin: bool
    accepts_otp: bool
    liveness: LivenessLevel = Field(
        default=DEFAULT_LIVENESS,
        description="left out: passive_active (a challenge of movements too); passive only "
        "when named",
    )


class GateOut(BaseModel):
    code: str
    name: str
    accepts_face: bool
    accepts_card: bool
    accepts_pin: bool
    accepts_otp: bool
    liveness: LivenessLevel
    created_at: datetime

    @classmethod
    def of(cls, gate: GateInfo) -> GateOut:
        return cls(
            code=gate.code,
            name=gate.name,
            accepts_face=gate.accepts_face,
            accepts_card=gate.accepts_card,
            accepts_pin=gate.accepts_pin,
            accepts_otp=gate.accepts_otp,
            liveness=gate.liveness,
            created_at=gate.created_at,
        )


class DeviceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    gates: list[str] = Field(min_length=1, max_length=50)


class DeviceOut(BaseModel):
    id: str
    name: str
    gates: list[str]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, device: DeviceInfo) -> DeviceOut:
        return cls(
            id=device.id,
            name=device.name,
            gates=list(device.gate_codes),
            created_at=device.created_at,
            revoked_at=device.revoked_at,
        )


class RegisteredDeviceOut(BaseModel):
    """A new device; ``api_key`` is shown once: configure the kiosk with it now."""

    device: DeviceOut
    api_key: str
