"""Queries and checks shared by the store's modules, each inside the caller's transaction.

The rules of when face data may be processed live here, in one place:
``usable_consent`` (R-01, R-05, R-06, R-07) and ``require_assessment`` (R-30).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, update
from sqlalchemy.orm import Session

from facegate.errors import (
    AssessmentRequiredError,
    ConsentRequiredError,
    GuardianRequiredError,
    NotFoundError,
    PolicyError,
    RenewalRequiredError,
)
from facegate.store.records import SubjectStatus
from facegate.store.schema import (
    Base,
    Consent,
    GalleryChange,
    ImpactAssessment,
    Site,
    Subject,
    utcnow,
)


def usable_consent(now: datetime) -> ColumnElement[bool]:
    """A consent that allows face processing at ``now``: given under a published notice,
    not withdrawn, not awaiting renewal after a widening notice, and not yet ended."""
    return and_(
        Consent.notice_id.is_not(None),
        Consent.withdrawn_at.is_(None),
        Consent.renewal_required_at.is_(None),
        Consent.expires_at > now,
    )


def site_by_code(session: Session, code: str) -> Site:
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise NotFoundError(f"no site with code {code!r}")
    return site


def active_subject(session: Session, subject_id: str) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFoundError(f"no subject with id {subject_id}")
    if subject.status is SubjectStatus.DELETED:
        raise NotFoundError(f"subject {subject_id} was deleted; its data no longer exists")
    return subject


def is_minor(subject: Subject, today: date | None = None) -> bool:
    """Under 14 today (R-04)."""
    return subject.minor_until is not None and (today or utcnow().date()) < subject.minor_until


def may_enter(subject: Subject, now: datetime) -> bool:
    """Active, not moved out, and (for visitors and temporary residents) not expired."""
    return (
        subject.status is SubjectStatus.ACTIVE
        and (subject.moved_out_at is None or subject.moved_out_at > now)
        and (subject.expires_at is None or subject.expires_at > now)
    )


def require_usable_consent(session: Session, subject: Subject) -> str:
    """The id of the subject's newest usable consent, or the typed reason there is none.

    A subject who has moved out or whose stay has ended is not processed either, whatever
    their consent says: their data waits only for the retention purge (R-24).
    """
    now = utcnow()
    if not may_enter(subject, now):
        raise PolicyError(
            f"subject {subject.id} has moved out or their stay has ended: no face processing",
            reason="moved_out",
        )
    consent = session.scalar(
        select(Consent)
        .where(Consent.subject_id == subject.id, usable_consent(now))
        .order_by(Consent.given_at.desc(), Consent.id)
        .limit(1)
    )
    if consent is None:
        pending = session.scalar(
            select(func.count())
            .select_from(Consent)
            .where(
                Consent.subject_id == subject.id,
                Consent.withdrawn_at.is_(None),
                Consent.renewal_required_at.is_not(None),
            )
        )
        if pending:
            raise RenewalRequiredError(
                f"subject {subject.id} consented to an earlier notice and the site has since "
                "widened purpose, method or scope: face processing waits for a new consent"
            )
        raise ConsentRequiredError(
            f"subject {subject.id} has no usable consent to face processing (none recorded "
            "under a published notice, or it was withdrawn or has ended)"
        )
    if is_minor(subject) and consent.guardian_id is None:
        raise GuardianRequiredError(
            f"subject {subject.id} is under 14: face processing needs the consent of their "
            "recorded guardian",
            reason="consent_not_by_guardian",
        )
    return consent.id


def require_assessment(session: Session, site_id: str) -> None:
    """R-30: no enrollment before the site has an impact assessment on record."""
    found = session.scalar(
        select(ImpactAssessment.id).where(ImpactAssessment.site_id == site_id).limit(1)
    )
    if found is None:
        raise AssessmentRequiredError(
            "this site has no personal-information impact assessment on record: record one "
            "(facegate assessment record) before enrolling anyone"
        )


#: Changes kept per site in ``gallery_change``: a gallery cached further back than this is
#: rebuilt in full (the log has a gap), which is cheaper than many small updates anyway.
GALLERY_CHANGES_KEPT = 1024
#: Old changes are pruned at every this many versions (not at every bump: it is a delete).
GALLERY_PRUNE_EVERY = 64


def bump_gallery(session: Session, site_id: str, subject_id: str | None) -> int:
    """Mark the site's usable templates as changed, so cached galleries are brought up to
    date, and log which subject's templates changed (``subject_id``; None when anything may
    have changed, which makes every cached gallery rebuild). Returns the new version."""
    version = session.execute(
        update(Site)
        .where(Site.id == site_id)
        .values(gallery_version=Site.gallery_version + 1)
        .returning(Site.gallery_version)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    session.execute(
        insert(GalleryChange).values(site_id=site_id, version=version, subject_id=subject_id)
    )
    if version % GALLERY_PRUNE_EVERY == 0 or GALLERY_CHANGES_KEPT < GALLERY_PRUNE_EVERY:
        session.execute(
            delete(GalleryChange)
            .where(
                GalleryChange.site_id == site_id,
                GalleryChange.version <= version - GALLERY_CHANGES_KEPT,
            )
            .execution_options(synchronize_session=False)
        )
    return int(version)


def count(session: Session, entity: type[Base], *conditions: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(entity).where(*conditions)) or 0
