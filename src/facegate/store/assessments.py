"""Personal-information impact assessment records (R-30).

PIPL 55/56 and CAC Art. 9: an assessment is made before face processing starts and is kept
at least three years. facegate keeps the record (who assessed, when, a summary and the
SHA-256 of the full document kept elsewhere); the database refuses to delete a record
before ``retain_until`` and to change it at all (triggers in migration 0002).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from facegate.errors import InvalidRecordError
from facegate.store.audit import AuditAction
from facegate.store.checks import check_aware, check_text
from facegate.store.module import StoreModule
from facegate.store.queries import site_by_code
from facegate.store.schema import ACTOR_LENGTH, NAME_LENGTH, ImpactAssessment, new_id, utcnow

#: PIPL 56: records are kept at least three years.
ASSESSMENT_RETENTION = timedelta(days=3 * 366)
SUMMARY_LENGTH = 4000
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class AssessmentInfo:
    id: str
    site_code: str
    assessed_at: datetime
    assessor: str
    summary: str
    document_sha256: str | None
    retain_until: datetime
    recorded_by: str


class Assessments(StoreModule):
    """Impact assessment records of each site."""

    def record(
        self,
        site_code: str,
        assessor: str,
        summary: str,
        *,
        assessed_at: datetime | None = None,
        document_sha256: str | None = None,
        actor: str,
    ) -> AssessmentInfo:
        """Record an assessment; kept at least ``ASSESSMENT_RETENTION`` from ``assessed_at``."""
        assessor = check_text(assessor, "assessor", NAME_LENGTH)
        summary = check_text(summary, "summary", SUMMARY_LENGTH)
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        now = utcnow()
        when = now if assessed_at is None else check_aware(assessed_at, "assessed_at")
        if when > now:
            raise InvalidRecordError("assessed_at is in the future", reason="assessed_in_future")
        if document_sha256 is not None and not _SHA256.fullmatch(document_sha256):
            raise InvalidRecordError(
                "document_sha256 must be 64 lowercase hex characters", reason="document_hash_format"
            )
        with self._store.transaction() as session:
            site = site_by_code(session, site_code)
            row = ImpactAssessment(
                id=new_id(),
                site_id=site.id,
                assessed_at=when,
                assessor=assessor,
                summary=summary,
                document_sha256=document_sha256,
                retain_until=when + ASSESSMENT_RETENTION,
                recorded_by=actor,
            )
            session.add(row)
            self._store.audit(
                session,
                actor,
                AuditAction.ASSESSMENT_RECORDED,
                site_id=site.id,
                detail={"assessment_id": row.id},
            )
            return _info(row, site.code)

    def list(self, site_code: str) -> list[AssessmentInfo]:
        with self._store.reading() as session:
            site = site_by_code(session, site_code)
            rows = session.scalars(
                select(ImpactAssessment)
                .where(ImpactAssessment.site_id == site.id)
                .order_by(ImpactAssessment.assessed_at)
            )
            return [_info(row, site.code) for row in rows]


def _info(row: ImpactAssessment, site_code: str) -> AssessmentInfo:
    return AssessmentInfo(
        id=row.id,
        site_code=site_code,
        assessed_at=row.assessed_at,
        assessor=row.assessor,
        summary=row.summary,
        document_sha256=row.document_sha256,
        retain_until=row.retain_until,
        recorded_by=row.recorded_by,
    )
