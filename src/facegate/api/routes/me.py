"""Resident self-service: read the notice, give or withdraw face consent, see and export
my data, get a non-face credential, delete my face data. Always the signed-in resident's
own record: there is no subject id in these paths."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from facegate.api.deps import Resident, State, StoreDep, session_token
from facegate.api.exports import subject_export
from facegate.api.routes.admin_scope import actor_of
from facegate.api.schemas.consents import ConsentOut, ResidentConsentIn, WithdrawalOut
from facegate.api.schemas.credentials import CredentialOut, IssuedCodeOut, PinIn
from facegate.api.schemas.me import MeOut
from facegate.api.schemas.notices import NoticeOut
from facegate.api.schemas.subjects import SubjectOut
from facegate.store.accounts import token_digest
from facegate.store.records import ConsentMethod
from facegate.store.schema import utcnow
from facegate.store.site_reads import template_models
from facegate.vision.engines import needs_reenrollment

router = APIRouter(prefix="/api/v1/me", tags=["resident"])


@router.get("", response_model=MeOut)
def me(resident: Resident, store: StoreDep, state: State) -> MeOut:
    """Role: the signed-in resident. My record, consents and credentials."""
    subject_id = resident.principal_id
    now = utcnow()
    models = template_models(store, resident.site_code, subject_id).get(subject_id, frozenset())
    # Visitor passes are listed apart (``/me/passes``): they are not my ways in.
    visitors = store.passes.credential_ids(subject_id)
    return MeOut(
        subject=SubjectOut.of(store.get_subject(subject_id)),
        consents=[ConsentOut.of(c, now) for c in store.consents.list(subject_id)],
        credentials=[
            CredentialOut.of(c)
            for c in store.credentials.list_for_subject(subject_id)
            if c.id not in visitors
        ],
        session_expires_at=resident.expires_at,
        face_reenroll=needs_reenrollment(models, state.settings.engine),
    )


@router.get("/notice", response_model=NoticeOut)
def notice(resident: Resident, store: StoreDep) -> NoticeOut:
    """Role: the signed-in resident. The site's notice in force, in Chinese and English."""
    return NoticeOut.of(store.notices.current(resident.site_code))


@router.post("/consent", response_model=ConsentOut, status_code=201)
def give_consent(
    body: ResidentConsentIn, request: Request, resident: Resident, store: StoreDep
) -> ConsentOut:
    """Role: the signed-in resident. An explicit e-signed consent to face processing for
    the notice version read; the evidence is this session and the time."""
    evidence = f"self-service session {token_digest(session_token(request))[:32]}"
    record = store.consents.record(
        resident.principal_id,
        body.notice_version,
        ConsentMethod.E_SIGNATURE,
        evidence,
        actor=actor_of(resident),
    )
    return ConsentOut.of(record, utcnow())


@router.post("/consent/withdraw", response_model=WithdrawalOut)
def withdraw_consent(request: Request, resident: Resident, store: StoreDep) -> WithdrawalOut:
    """Role: the signed-in resident. Face recognition stops at once; face data is erased;
    cards, PINs and codes keep working (R-05, R-08). Other sessions of theirs end; this
    one stays, to set a PIN instead."""
    withdrawal = store.consents.withdraw_all(
        resident.principal_id, actor=actor_of(resident), keep_session=_own_session(request)
    )
    return WithdrawalOut.of(withdrawal)


def _own_session(request: Request) -> str:
    return token_digest(session_token(request))


@router.get("/export")
def export(resident: Resident, store: StoreDep) -> dict[str, Any]:
    """Role: the signed-in resident. Everything stored about me (no templates), and the
    visitor passes I made (never their codes)."""
    return subject_export(store, resident.principal_id, actor_of(resident))


@router.post("/credentials/pin", response_model=CredentialOut, status_code=201)
def set_pin(body: PinIn, resident: Resident, store: StoreDep) -> CredentialOut:
    """Role: the signed-in resident. A PIN instead of the face (6-12 digits)."""
    info = store.credentials.set_pin(resident.principal_id, body.pin, actor_of(resident))
    return CredentialOut.of(info)


@router.post("/credentials/otp", response_model=IssuedCodeOut, status_code=201)
def issue_otp(resident: Resident, store: StoreDep) -> IssuedCodeOut:
    """Role: the signed-in resident. A one-time gate code, shown once."""
    issued = store.credentials.issue_otp(resident.principal_id, actor_of(resident))
    return IssuedCodeOut(code=issued.code, expires_at=issued.expires_at)


@router.delete("/face", response_model=WithdrawalOut)
def delete_face(request: Request, resident: Resident, store: StoreDep) -> WithdrawalOut:
    """Role: the signed-in resident. Withdraws consent and erases my face data; my other
    credentials stay (and this session; other sessions of mine end)."""
    withdrawal = store.consents.withdraw_all(
        resident.principal_id, actor=actor_of(resident), keep_session=_own_session(request)
    )
    return WithdrawalOut.of(withdrawal)
