"""What an administrator reads about a site: decisions, audit, retention, compliance,
impact assessments. No scores, no templates."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facegate.store.assessments import AssessmentInfo
from facegate.store.audit import AuditRecord, DetailValue


class DecisionOut(BaseModel):
    """One gate decision from the audit log."""

    id: int
    at: datetime
    actor: str
    action: str
    subject_id: str | None
    detail: dict[str, DetailValue]

    @classmethod
    def of(cls, record: AuditRecord) -> DecisionOut:
        return cls(
            id=record.id,
            at=record.at,
            actor=record.actor,
            action=record.action,
            subject_id=record.subject_id,
            detail=record.detail,
        )


class AuditVerifyOut(BaseModel):
    """The whole log's chain is checked; the count is this site's events only."""

    ok: bool
    events_checked: int = Field(description="this site's events in the checked log")
    last_event_at: datetime | None = Field(
        default=None, description="when this site's newest event was written"
    )
    first_bad_event_id: int | None
    reason: str | None


class RetentionOut(BaseModel):
    """This site's share of one retention run."""

    ran_at: datetime
    #: Erasures at this site, by reason (move_out, expiry, withdrawal...).
    erased: dict[str, int]
    receipts: list[str]


class LiveCheckOut(BaseModel):
    """One live check of the site; ``title``, ``status_text`` and ``text`` are in the
    request's language, ``explanation`` is the same finding in English."""

    name: str
    title: str
    rules: list[str]
    status: str
    status_text: str
    text: str
    explanation: str


class RuleEntryOut(BaseModel):
    rule: str
    group: str
    #: In the request's language; ``title_en`` is the catalogue's.
    title: str
    title_en: str
    status: str
    status_text: str
    status_note: str
    #: The release's tests that carry the rule (pytest node ids).
    tests: list[str]
    tests_text: str
    live_status: str | None
    live_text: str
    live_note: str


class ReleaseOut(BaseModel):
    """The rule-test results shipped with the release, and whether they verify."""

    state: str = Field(description="verified, altered, stale or missing")
    text: str
    sha256: str | None
    tests_sha256: str | None
    facegate_version: str | None
    git_revision: str | None
    frozen_at: datetime | None
    tested: str | None


class ComplianceOut(BaseModel):
    site: str
    site_name: str
    lang: str
    generated_at: datetime
    facegate_version: str
    git_revision: str | None
    summary: str
    release: ReleaseOut
    entries: list[RuleEntryOut]
    live_checks: list[LiveCheckOut]
    notes: list[str] = Field(description="what a reader must know, in English, for auditors")


class AssessmentIn(BaseModel):
    assessor: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=4000)
    assessed_at: datetime | None = None
    document_sha256: str | None = Field(default=None, max_length=64)


class AssessmentOut(BaseModel):
    id: str
    assessed_at: datetime
    assessor: str
    summary: str
    retain_until: datetime
    recorded_by: str

    @classmethod
    def of(cls, info: AssessmentInfo) -> AssessmentOut:
        return cls(
            id=info.id,
            assessed_at=info.assessed_at,
            assessor=info.assessor,
            summary=info.summary,
            retain_until=info.retain_until,
            recorded_by=info.recorded_by,
        )
