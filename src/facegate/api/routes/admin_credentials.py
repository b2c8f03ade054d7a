"""Admin: a subject's cards, PINs and one-time codes, self-service sign-in codes, and
face enrollment from uploaded images."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from facegate.api.deps import State, StoreDep
from facegate.api.ratelimit import STAFF_FACES
from facegate.api.routes.admin_scope import SiteDesk, SiteSubject, actor_of, read_images
from facegate.api.schemas.credentials import CardIn, CredentialOut, IssuedCodeOut, PinIn
from facegate.api.schemas.subjects import EnrollmentOut
from facegate.errors import NotFoundError
from facegate.gate.frames import decode_frame
from facegate.gate.matcher import CalibratedMatcher
from facegate.recognition import enroll_images
from facegate.store.accounts import SIGNIN_CODE_TTL
from facegate.store.schema import utcnow
from facegate.store.site_reads import credential_site_code

router = APIRouter(prefix="/api/v1/sites/{site}", tags=["admin: credentials"])


@router.get("/subjects/{subject_id}/credentials", response_model=list[CredentialOut])
def list_credentials(subject: SiteSubject, store: StoreDep) -> list[CredentialOut]:
    """Role: front desk (or administrator). Metadata only: never a number, PIN or hash."""
    return [CredentialOut.of(c) for c in store.credentials.list_for_subject(subject.id)]


@router.post(
    "/subjects/{subject_id}/credentials/card", response_model=CredentialOut, status_code=201
)
def issue_card(
    subject: SiteSubject, body: CardIn, store: StoreDep, desk: SiteDesk
) -> CredentialOut:
    """Role: front desk (or administrator)."""
    info = store.credentials.issue_card(subject.id, body.card_number, actor_of(desk))
    return CredentialOut.of(info)


@router.post(
    "/subjects/{subject_id}/credentials/pin", response_model=CredentialOut, status_code=201
)
def set_pin(subject: SiteSubject, body: PinIn, store: StoreDep, desk: SiteDesk) -> CredentialOut:
    """Role: front desk (or administrator). Replaces the subject's PIN (6-12 digits)."""
    return CredentialOut.of(store.credentials.set_pin(subject.id, body.pin, actor_of(desk)))


@router.post(
    "/subjects/{subject_id}/credentials/otp", response_model=IssuedCodeOut, status_code=201
)
def issue_otp(subject: SiteSubject, store: StoreDep, desk: SiteDesk) -> IssuedCodeOut:
    """Role: front desk (or administrator). A one-time gate code, shown once."""
    issued = store.credentials.issue_otp(subject.id, actor_of(desk))
    return IssuedCodeOut(code=issued.code, expires_at=issued.expires_at)


@router.delete("/credentials/{credential_id}", response_model=CredentialOut)
def revoke_credential(
    site: str, credential_id: str, store: StoreDep, desk: SiteDesk
) -> CredentialOut:
    """Role: front desk (or administrator). Another site's credential answers 404."""
    if credential_site_code(store, credential_id) != site:
        raise NotFoundError(f"no credential with id {credential_id}")
    return CredentialOut.of(store.credentials.revoke(credential_id, actor_of(desk)))


@router.post("/subjects/{subject_id}/signin-codes", response_model=IssuedCodeOut, status_code=201)
def issue_signin_code(subject: SiteSubject, store: StoreDep, desk: SiteDesk) -> IssuedCodeOut:
    """Role: front desk (or administrator). A self-service sign-in code for the resident,
    shown once: the front desk hands it over."""
    started = utcnow()
    code = store.accounts.issue_signin_code(subject.id, actor=actor_of(desk))
    return IssuedCodeOut(code=code, expires_at=started + SIGNIN_CODE_TTL)


@router.post("/subjects/{subject_id}/enrollments", response_model=EnrollmentOut, status_code=201)
def enroll(
    subject: SiteSubject,
    images: Annotated[list[UploadFile], File(description="one face per image, JPEG or PNG")],
    state: State,
    desk: SiteDesk,
    live: Annotated[
        UploadFile | None,
        File(description="the desk camera's photo of the person, compared and not enrolled"),
    ] = None,
) -> EnrollmentOut:
    """Role: front desk (or administrator). One template per image, all or none;
    needs the subject's consent. Images are decoded within the pixel limit and then
    dropped: nothing stores an image. Faces count against the staff member's face limit.
    ``live``, the desk camera's photo, is compared with the images (a morph differs from
    its enroller's live face) and refused faces answer ``enrollment_refused``."""
    data = read_images(images, state.settings.max_upload_bytes)
    live_data = read_images([live], state.settings.max_upload_bytes) if live else []
    state.hit(STAFF_FACES, actor_of(desk), len(data) + len(live_data))
    # Consent first: face data of a subject without it must not even be computed.
    state.store.check_enrollment_allowed(subject.id)
    frames = [decode_frame(blob, state.settings.max_image_pixels) for blob in data]
    live_frames = [decode_frame(blob, state.settings.max_image_pixels) for blob in live_data]
    with state.pipelines.borrow() as pipeline:
        ids = enroll_images(
            state.store,
            pipeline,
            subject.id,
            frames,
            actor_of(desk),
            max_pixels=state.settings.max_image_pixels,
            live=live_frames,
            matcher=CalibratedMatcher(state.registry),
        )
    return EnrollmentOut(subject_id=subject.id, enrolled=len(ids))
