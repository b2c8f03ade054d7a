"""Admin: the site, its subjects, their consents and their data export."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter

from facegate.api.deps import StoreDep
from facegate.api.errors import ApiError
from facegate.api.exports import subject_export
from facegate.api.routes import admin_residents
from facegate.api.routes.admin_scope import (
    SiteAdmin,
    SiteDesk,
    SiteStaff,
    SiteSubject,
    actor_of,
)
from facegate.api.schemas.consents import (
    ConsentIn,
    ConsentOut,
    GuardianIn,
    GuardianOut,
    WithdrawalOut,
    WithdrawIn,
)
from facegate.api.schemas.subjects import (
    DeletionReceiptOut,
    MoveOutOut,
    SiteOut,
    SubjectIn,
    SubjectOut,
)
from facegate.store.records import DeletionReason
from facegate.store.schema import utcnow

router = APIRouter(prefix="/api/v1/sites/{site}", tags=["admin: subjects"])
# First: ``/subjects/search`` must not be read as ``/subjects/{subject_id}``.
router.include_router(admin_residents.router)


@router.get("", response_model=SiteOut)
def get_site(site: str, store: StoreDep, _: SiteStaff) -> SiteOut:
    """Role: any staff member."""
    return SiteOut.of(store.get_site(site))


@router.get("/subjects", response_model=list[SubjectOut])
def list_subjects(
    site: str, store: StoreDep, _: SiteDesk, include_deleted: bool = False
) -> list[SubjectOut]:
    """Role: front desk (or administrator). Residents, visitors, their consent status."""
    return [SubjectOut.of(s) for s in store.list_subjects(site, include_deleted=include_deleted)]


@router.post("/subjects", response_model=SubjectOut, status_code=201)
def add_subject(site: str, body: SubjectIn, store: StoreDep, desk: SiteDesk) -> SubjectOut:
    """Role: front desk (or administrator). Registers a subject (no consent nor face yet)."""
    if body.born is None and not body.adult:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_request",
            "give born (to tell a child under 14) or state adult: true",
            reason="born_or_adult",
        )
    subject = store.add_subject(
        site,
        body.name,
        body.kind,
        date_of_birth=body.born,
        expires_at=body.expires,
        home=body.home,
        actor=actor_of(desk),
    )
    return SubjectOut.of(subject)


@router.get("/subjects/{subject_id}", response_model=SubjectOut)
def get_subject(subject: SiteSubject) -> SubjectOut:
    """Role: front desk (or administrator)."""
    return SubjectOut.of(subject)


@router.delete("/subjects/{subject_id}", response_model=DeletionReceiptOut)
def delete_subject(
    subject: SiteSubject,
    store: StoreDep,
    admin: SiteAdmin,
    reason: DeletionReason = DeletionReason.REQUEST,
) -> DeletionReceiptOut:
    """Role: the site's administrator. Erases the subject (R-23); returns the receipt."""
    receipt = store.delete_subject(subject.id, reason=reason, actor=actor_of(admin))
    return DeletionReceiptOut.of(receipt)


@router.post("/subjects/{subject_id}/move-out", response_model=MoveOutOut)
def move_out(subject: SiteSubject, store: StoreDep, admin: SiteAdmin) -> MoveOutOut:
    """Role: the site's administrator. Face entry stops now; data purged after retention."""
    when = store.retention.record_move_out(subject.id, actor=actor_of(admin))
    return MoveOutOut(subject_id=subject.id, moved_out_at=when)


@router.post("/subjects/{subject_id}/guardians", response_model=GuardianOut, status_code=201)
def add_guardian(
    subject: SiteSubject, body: GuardianIn, store: StoreDep, desk: SiteDesk
) -> GuardianOut:
    """Role: front desk (or administrator). Records the adult guardian of a child under
    14, who then consents for the child (R-04); an adult subject answers 409."""
    info = store.consents.add_guardian(
        subject.id, body.name, body.relation, body.born, actor=actor_of(desk)
    )
    return GuardianOut.of(info)


@router.get("/subjects/{subject_id}/guardians", response_model=list[GuardianOut])
def list_guardians(subject: SiteSubject, store: StoreDep, _: SiteDesk) -> list[GuardianOut]:
    """Role: front desk (or administrator). The child's recorded guardians, oldest first:
    the desk picks one for a consent instead of recording the same guardian twice."""
    return [GuardianOut.of(g) for g in store.consents.guardians(subject.id)]


@router.get("/subjects/{subject_id}/consents", response_model=list[ConsentOut])
def list_consents(subject: SiteSubject, store: StoreDep) -> list[ConsentOut]:
    """Role: front desk (or administrator)."""
    now = utcnow()
    return [ConsentOut.of(c, now) for c in store.consents.list(subject.id)]


@router.post("/subjects/{subject_id}/consents", response_model=ConsentOut, status_code=201)
def record_consent(
    site: str, subject: SiteSubject, body: ConsentIn, store: StoreDep, desk: SiteDesk
) -> ConsentOut:
    """Role: front desk (or administrator). Records a written consent collected at the
    desk, for the site's current notice."""
    version = store.notices.current(site).version
    record = store.consents.record(
        subject.id,
        version,
        body.method,
        body.evidence,
        guardian_id=body.guardian_id,
        actor=actor_of(desk),
    )
    return ConsentOut.of(record, utcnow())


@router.post("/subjects/{subject_id}/consents/withdraw", response_model=WithdrawalOut)
def withdraw_consents(
    subject: SiteSubject, store: StoreDep, desk: SiteDesk, body: WithdrawIn | None = None
) -> WithdrawalOut:
    """Role: front desk (or administrator). Withdraws every consent (the resident's right,
    asked at the desk); face data is erased."""
    guardian = None if body is None else body.guardian_id
    withdrawal = store.consents.withdraw_all(subject.id, actor=actor_of(desk), guardian_id=guardian)
    return WithdrawalOut.of(withdrawal)


@router.get("/subjects/{subject_id}/export")
def export_subject(subject: SiteSubject, store: StoreDep, desk: SiteDesk) -> dict[str, Any]:
    """Role: front desk (or administrator). Everything stored about the subject (no
    templates), their visitor passes included: the answer to their access request."""
    return subject_export(store, subject.id, actor_of(desk))
