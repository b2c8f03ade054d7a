"""Sites and subjects: what an administrator registers and sees (no templates, ever)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from facegate.store.homes import Home
from facegate.store.records import (
    DeletionReason,
    DeletionReceipt,
    SiteInfo,
    SubjectInfo,
    SubjectKind,
    SubjectStatus,
)
from facegate.store.schema import BUILDING_LENGTH, HOUSEHOLD_LENGTH, UNIT_LENGTH


class SiteOut(BaseModel):
    code: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, site: SiteInfo) -> SiteOut:
        return cls(code=site.code, name=site.name, created_at=site.created_at)


class SubjectIn(BaseModel):
    """A new subject. Give ``born`` (used only to tell a child under 14, not stored) or
    state ``adult: true``; visitors and temporary residents need ``expires``."""

    name: str = Field(min_length=1, max_length=200)
    kind: SubjectKind
    born: date | None = None
    adult: bool = False
    expires: datetime | None = None
    #: Where they live (each optional): e.g. building "12", unit "3", household "1202".
    building: str | None = Field(default=None, max_length=BUILDING_LENGTH)
    unit: str | None = Field(default=None, max_length=UNIT_LENGTH)
    household: str | None = Field(default=None, max_length=HOUSEHOLD_LENGTH)

    @property
    def home(self) -> Home:
        return Home(self.building, self.unit, self.household)


class SubjectOut(BaseModel):
    id: str
    #: Six digits a resident types at the kiosk's PIN pad instead of ``id``.
    resident_number: str | None = None
    site: str
    name: str | None
    kind: SubjectKind
    status: SubjectStatus
    created_at: datetime
    deleted_at: datetime | None
    has_active_consent: bool
    #: How many face templates are stored (never the templates).
    template_count: int
    minor: bool
    moved_out_at: datetime | None
    expires_at: datetime | None
    building: str | None = None
    unit: str | None = None
    household: str | None = None

    @classmethod
    def of(cls, subject: SubjectInfo) -> SubjectOut:
        return cls(
            id=subject.id,
            resident_number=subject.resident_number,
            site=subject.site_code,
            name=subject.display_name,
            kind=subject.kind,
            status=subject.status,
            created_at=subject.created_at,
            deleted_at=subject.deleted_at,
            has_active_consent=subject.has_active_consent,
            template_count=subject.template_count,
            minor=subject.minor,
            moved_out_at=subject.moved_out_at,
            expires_at=subject.expires_at,
            building=subject.building,
            unit=subject.unit,
            household=subject.household,
        )


class MoveOutOut(BaseModel):
    subject_id: str
    moved_out_at: datetime


class DeletionReceiptOut(BaseModel):
    """What a deletion destroyed, when and why (R-23)."""

    id: str
    subject_id: str
    deleted_at: datetime
    reason: DeletionReason
    subject_erased: bool
    templates_deleted: int
    credentials_deleted: int
    snapshots_deleted: int
    keys_destroyed: int

    @classmethod
    def of(cls, receipt: DeletionReceipt) -> DeletionReceiptOut:
        return cls(
            id=receipt.id,
            subject_id=receipt.subject_id,
            deleted_at=receipt.deleted_at,
            reason=receipt.reason,
            subject_erased=receipt.subject_erased,
            templates_deleted=receipt.templates_deleted,
            credentials_deleted=receipt.credentials_deleted,
            snapshots_deleted=receipt.snapshots_deleted,
            keys_destroyed=receipt.keys_destroyed,
        )


class EnrollmentOut(BaseModel):
    subject_id: str
    #: Templates stored (one per image).
    enrolled: int
