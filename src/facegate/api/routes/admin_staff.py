"""Admin: the site's staff accounts (administrators, front desk operators, auditors).

Only the site's administrator manages them; every change is audited and ends the
account's sessions. A site keeps at least one active administrator (409, reason
``last_admin``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from facegate.api.deps import StoreDep
from facegate.api.idempotency import mark_one_time_secret
from facegate.api.routes.admin_scope import SiteAdmin, actor_of
from facegate.api.schemas.staff import (
    PasswordResetIn,
    StaffChangeIn,
    StaffIn,
    StaffOut,
    StaffPasswordOut,
)

router = APIRouter(prefix="/api/v1/sites/{site}/staff", tags=["admin: staff"])


@router.get("", response_model=list[StaffOut])
def list_staff(site: str, store: StoreDep, _: SiteAdmin) -> list[StaffOut]:
    """Role: the site's administrator. Accounts, roles and whether each is disabled or
    locked; never a password or its hash."""
    return [StaffOut.of(s) for s in store.staff.list(site)]


@router.post("", response_model=StaffPasswordOut, status_code=201)
def create_staff(
    site: str, body: StaffIn, request: Request, store: StoreDep, admin: SiteAdmin
) -> StaffPasswordOut:
    """Role: the site's administrator. A new account; its generated password is in this
    answer only (or the administrator sets one that meets the password policy). The
    resident is not a staff role (422)."""
    mark_one_time_secret(request)
    made = store.staff.create(site, body.username, body.role, body.password, actor=actor_of(admin))
    return StaffPasswordOut.of(made)


@router.post("/{staff_id}", response_model=StaffOut)
def change_staff(
    site: str, staff_id: str, body: StaffChangeIn, store: StoreDep, admin: SiteAdmin
) -> StaffOut:
    """Role: the site's administrator. Changes the role, disables or enables the account;
    the last active administrator cannot be demoted or disabled (409)."""
    info = store.staff.update(
        site, staff_id, role=body.role, disabled=body.disabled, actor=actor_of(admin)
    )
    return StaffOut.of(info)


@router.post("/{staff_id}/password", response_model=StaffPasswordOut)
def reset_staff_password(
    site: str,
    staff_id: str,
    request: Request,
    store: StoreDep,
    admin: SiteAdmin,
    body: PasswordResetIn | None = None,
) -> StaffPasswordOut:
    """Role: the site's administrator. A new password (generated and shown once, or the
    one given), the lock-out lifted and the account's sessions ended."""
    mark_one_time_secret(request)
    password = None if body is None else body.password
    made = store.staff.reset_password(site, staff_id, password, actor=actor_of(admin))
    return StaffPasswordOut.of(made)
