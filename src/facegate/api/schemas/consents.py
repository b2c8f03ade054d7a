"""Consents: recorded by an administrator (paper) or given by the resident (e-signature)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from facegate.api.schemas.subjects import DeletionReceiptOut
from facegate.store.consents import ConsentRecord, GuardianInfo, Withdrawal
from facegate.store.records import ConsentMethod, GuardianRelation


class ConsentIn(BaseModel):
    """A written consent collected at the front desk, for the site's current notice."""

    evidence: str = Field(min_length=1, max_length=200, description="scan or e-sign reference")
    method: ConsentMethod
    guardian_id: str | None = Field(default=None, max_length=64)


class WithdrawIn(BaseModel):
    #: For a child under 14: the guardian who asks.
    guardian_id: str | None = Field(default=None, max_length=64)


class ResidentConsentIn(BaseModel):
    """Explicit: ``accept`` must be true and name the notice version read."""

    accept: Literal[True]
    notice_version: str = Field(min_length=1, max_length=64)


class ConsentOut(BaseModel):
    id: str
    subject_id: str
    notice_version: str
    given_at: datetime
    expires_at: datetime | None
    method: ConsentMethod
    given_by: str
    collected_by: str
    withdrawn_at: datetime | None
    renewal_required_at: datetime | None
    usable: bool

    @classmethod
    def of(cls, record: ConsentRecord, now: datetime) -> ConsentOut:
        return cls(
            id=record.id,
            subject_id=record.subject_id,
            notice_version=record.notice_version,
            given_at=record.given_at,
            expires_at=record.expires_at,
            method=record.method,
            given_by=record.given_by,
            collected_by=record.collected_by,
            withdrawn_at=record.withdrawn_at,
            renewal_required_at=record.renewal_required_at,
            usable=record.usable(now),
        )


class WithdrawalOut(BaseModel):
    consent_ids: list[str]
    receipt: DeletionReceiptOut | None

    @classmethod
    def of(cls, withdrawal: Withdrawal) -> WithdrawalOut:
        receipt = withdrawal.receipt
        return cls(
            consent_ids=list(withdrawal.consent_ids),
            receipt=None if receipt is None else DeletionReceiptOut.of(receipt),
        )


class GuardianIn(BaseModel):
    """The guardian of a child under 14 (R-04): an adult; ``born`` is checked, not stored."""

    name: str = Field(min_length=1, max_length=200)
    relation: GuardianRelation
    born: date


class GuardianOut(BaseModel):
    id: str
    subject_id: str
    name: str | None
    relation: GuardianRelation
    created_at: datetime

    @classmethod
    def of(cls, info: GuardianInfo) -> GuardianOut:
        return cls(
            id=info.id,
            subject_id=info.subject_id,
            name=info.display_name,
            relation=info.relation,
            created_at=info.created_at,
        )
