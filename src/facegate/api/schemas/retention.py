"""A site's retention policy (R-21, R-24): how long data outlives a move-out, how long a
kept frame lives, and whether frames of disputed entries are kept at all."""

from __future__ import annotations

from pydantic import BaseModel, Field

from facegate.store.records import SitePolicy
from facegate.store.retention import (
    MAX_RESIDENT_RETENTION_DAYS,
    MAX_SNAPSHOT_RETENTION_DAYS,
    MIN_RESIDENT_RETENTION_DAYS,
    MIN_SNAPSHOT_RETENTION_DAYS,
)


class RetentionPolicyIn(BaseModel):
    """What to change; a setting left out stays as it is. At least one must be given."""

    resident_retention_days: int | None = Field(
        default=None, ge=MIN_RESIDENT_RETENTION_DAYS, le=MAX_RESIDENT_RETENTION_DAYS
    )
    snapshot_retention_days: int | None = Field(
        default=None, ge=MIN_SNAPSHOT_RETENTION_DAYS, le=MAX_SNAPSHOT_RETENTION_DAYS
    )
    #: Turning it on needs a current notice that declares it (else 409).
    keep_disputed_frames: bool | None = None


class RetentionPolicyOut(BaseModel):
    site: str
    resident_retention_days: int
    snapshot_retention_days: int
    keep_disputed_frames: bool

    @classmethod
    def of(cls, policy: SitePolicy) -> RetentionPolicyOut:
        return cls(
            site=policy.site_code,
            resident_retention_days=policy.resident_retention_days,
            snapshot_retention_days=policy.snapshot_retention_days,
            keep_disputed_frames=policy.keep_disputed_frames,
        )
