"""What every staff route shares: the staff of the site in the path, and that site's
subjects only. Another site's subject answers 404, exactly like an unknown id.

Each route takes the least privileged of four dependencies (the role a session carries
is its account's; ``tests/api/test_authorization_matrix.py`` proves every cell):

==============  ======================================================================
``SiteAdmin``   site administrator only: delete a subject, move-out, the residents' CSV
                export (every resident at once), notices (publish), gates (configure,
                schedules), devices, retention run and policy, impact assessments
                (record), staff accounts, remote door opening
``SiteDesk``    front desk (operator) or administrator: residents (list, search,
                register, read, CSV import), guardians, consents (record paper consent,
                list, and withdraw at the resident's request: their right, asked at the
                desk), credentials (issue card, PIN, gate code, self-service sign-in
                code; revoke a lost card at once), face enrollment and the recognition
                test, one resident's data export (their access request, R-32)
``SiteReader``  auditor or administrator, read-only: decisions (log, live feed, CSV
                export), audit verification, compliance report, impact assessments (list)
``SiteStaff``   any staff member: the site itself, its notices, gates and schedules
                (read), what the console's shell needs
==============  ======================================================================

An operator deletes nothing and changes no setting; an auditor changes nothing (the
audit check only reads). Withdrawing consent erases face data, but as the resident's
right, not the desk's choice; deleting a subject stays with the administrator.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import Depends, UploadFile

from facegate.api.deps import Admin, Desk, Reader, Staff, StoreDep, require_site
from facegate.api.errors import ApiError
from facegate.errors import NotFoundError
from facegate.store import Store
from facegate.store.accounts import SessionInfo
from facegate.store.records import SubjectInfo

#: Images per enrollment request.
MAX_IMAGES = 10


def site_admin(site: str, session: Admin) -> SessionInfo:
    """The signed-in administrator, if ``site`` (the path's) is theirs; else 403."""
    require_site(session, site)
    return session


def site_desk(site: str, session: Desk) -> SessionInfo:
    """The front desk (operator) or administrator of ``site``; else 403."""
    require_site(session, site)
    return session


def site_reader(site: str, session: Reader) -> SessionInfo:
    """The auditor or administrator of ``site``; else 403."""
    require_site(session, site)
    return session


def site_staff(site: str, session: Staff) -> SessionInfo:
    """Any staff member of ``site``; else 403."""
    require_site(session, site)
    return session


SiteAdmin = Annotated[SessionInfo, Depends(site_admin)]
SiteDesk = Annotated[SessionInfo, Depends(site_desk)]
SiteReader = Annotated[SessionInfo, Depends(site_reader)]
SiteStaff = Annotated[SessionInfo, Depends(site_staff)]


def actor_of(session: SessionInfo) -> str:
    """The audit actor of a signed-in principal: ``<role>:<account id>`` (``admin``,
    ``operator``, ``auditor``) or ``resident:<subject>``."""
    return f"{session.role.value}:{session.principal_id}"


def site_subject(store: Store, site: str, subject_id: str) -> SubjectInfo:
    """The subject, if it belongs to ``site``; ``NotFoundError`` otherwise."""
    subject = store.get_subject(subject_id)
    if subject.site_code != site:
        raise NotFoundError(f"no subject with id {subject_id}")
    return subject


def subject_of(site: str, subject_id: str, store: StoreDep, _: SiteDesk) -> SubjectInfo:
    """Dependency form of ``site_subject``, after the site check (front desk or
    administrator; a route only the administrator may call also takes ``SiteAdmin``)."""
    return site_subject(store, site, subject_id)


SiteSubject = Annotated[SubjectInfo, Depends(subject_of)]


def read_images(images: list[UploadFile], max_bytes: int) -> list[bytes]:
    """The uploaded images' bytes, each read at most ``max_bytes`` (+1 to tell it is over)."""
    if not images:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_request",
            "no images were sent",
            reason="no_images",
        )
    if len(images) > MAX_IMAGES:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_request",
            f"at most {MAX_IMAGES} images per request",
            reason="too_many_images",
        )
    out = []
    for image in images:
        data = image.file.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ApiError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "request_too_large",
                f"an image is over {max_bytes} bytes",
                reason="image_too_large",
            )
        out.append(data)
    return out
