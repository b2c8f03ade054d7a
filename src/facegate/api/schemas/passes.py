"""Visitor passes, as their resident creates and lists them: never the code's hash; the
code itself only in the answer that creates the pass."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from facegate.store.passes import MAX_PASS_GATES, PassInfo, PassStatus
from facegate.store.schema import GATE_CODE_LENGTH, VISITOR_LABEL_LENGTH


class PassIn(BaseModel):
    """A pass for a visitor: where and when it opens, and an optional label."""

    gates: list[Annotated[str, Field(max_length=GATE_CODE_LENGTH)]] = Field(
        min_length=1, max_length=MAX_PASS_GATES
    )
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    label: str | None = Field(
        default=None,
        max_length=VISITOR_LABEL_LENGTH,
        description="a few words for the resident's list (e.g. 'Aunt Li'); optional",
    )


class PassOut(BaseModel):
    id: str
    label: str | None
    gates: list[str]
    valid_from: datetime
    valid_until: datetime
    created_at: datetime
    status: PassStatus
    used_at: datetime | None

    @classmethod
    def of(cls, info: PassInfo) -> PassOut:
        return cls(
            id=info.id,
            label=info.label,
            gates=list(info.gate_codes),
            valid_from=info.valid_from,
            valid_until=info.valid_until,
            created_at=info.created_at,
            status=info.status,
            used_at=info.used_at,
        )


class IssuedPassOut(BaseModel):
    """A new pass: the code and its QR code (SVG) are in this answer only."""

    visitor_pass: PassOut
    code: str
    qr_svg: str = Field(description="the code as a QR code, an SVG document")


class PassGateOut(BaseModel):
    """A gate a pass may name (it takes one-time codes)."""

    code: str = Field(max_length=GATE_CODE_LENGTH)
    name: str
