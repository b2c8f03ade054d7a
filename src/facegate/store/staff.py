"""A site's staff accounts, as its site administrator manages them.

Creating an account, changing its role, disabling or enabling it and resetting its password
are audited and end the account's sessions (a session always carries the role it was
opened with). A site never loses its last active administrator: the change that would
leave none is refused with reason ``last_admin``. Password hashes never leave the store.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facegate.errors import InvalidRecordError, NotFoundError, PolicyError
from facegate.store.accounts import (
    AdminInfo,
    Role,
    check_password,
    end_sessions,
    staff_role,
)
from facegate.store.audit import AuditAction
from facegate.store.checks import check_id
from facegate.store.module import StoreModule
from facegate.store.queries import site_by_code
from facegate.store.schema import AdminAccount, utcnow

#: The reason of a refused change that would leave a site without an active administrator.
LAST_ADMIN = "last_admin"
#: Random bytes of a generated password (16 URL-safe characters).
GENERATED_PASSWORD_BYTES = 12


@dataclass(frozen=True, slots=True)
class StaffInfo:
    """A staff account as its administrator sees it: never the password hash."""

    id: str
    username: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class StaffPassword:
    """An account and the password just set; ``password`` is None when the administrator
    chose it (then it is not repeated back), else it is shown once and never stored."""

    info: StaffInfo
    password: str | None

    def __repr__(self) -> str:
        return f"StaffPassword(info={self.info!r}, password=<redacted>)"


def new_password() -> str:
    """A random password that meets the policy."""
    while True:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        try:
            check_password(password)
        except InvalidRecordError:  # pragma: no cover - 16 random characters, repeating
            continue
        return password


class Staff(StoreModule):
    """Staff accounts of one site: list, create, change role, disable, reset password."""

    def list(self, site_code: str) -> list[StaffInfo]:
        with self._store.reading() as session:
            site = site_by_code(session, site_code)
            rows = session.scalars(
                select(AdminAccount)
                .where(AdminAccount.site_id == site.id)
                .order_by(AdminAccount.created_at, AdminAccount.username)
            )
            return [_info(row) for row in rows]

    def create(
        self,
        site_code: str,
        username: str,
        role: Role | str,
        password: str | None,
        *,
        actor: str,
    ) -> StaffPassword:
        """A new account; without ``password`` one is generated and returned once."""
        chosen = password is not None
        password = new_password() if password is None else password
        created = self._store.accounts.create_admin(
            site_code, username, password, actor=actor, role=staff_role(role)
        )
        return StaffPassword(self.get(site_code, created.id), None if chosen else password)

    def get(self, site_code: str, staff_id: str) -> StaffInfo:
        with self._store.reading() as session:
            return _info(_account(session, site_code, staff_id))

    def update(
        self,
        site_code: str,
        staff_id: str,
        *,
        role: Role | str | None = None,
        disabled: bool | None = None,
        actor: str,
    ) -> StaffInfo:
        """Change the role and/or disable (True) or enable (False) the account; a change
        that would leave the site without an active administrator is refused."""
        new_role = None if role is None else staff_role(role)
        with self._store.transaction() as session:
            row = _account(session, site_code, staff_id)
            was_admin = _active_admin(row)
            changes: dict[str, str | bool] = {}
            if new_role is not None and new_role.value != row.role:
                changes["role"] = new_role.value
                row.role = new_role.value
            if disabled is not None and disabled != (row.disabled_at is not None):
                changes["disabled"] = disabled
                row.disabled_at = utcnow() if disabled else None
            if not changes:
                return _info(row)
            if was_admin and not _active_admin(row) and _other_admins(session, row) == 0:
                raise PolicyError(
                    "a site keeps at least one active administrator", reason=LAST_ADMIN
                )
            ended = end_sessions(session, principal_id=row.id)
            self._store.audit(
                session,
                actor,
                AuditAction.STAFF_CHANGED,
                site_id=row.site_id,
                detail={"admin_id": row.id, "sessions_ended": ended, **changes},
            )
            return _info(row)

    def reset_password(
        self, site_code: str, staff_id: str, password: str | None, *, actor: str
    ) -> StaffPassword:
        """Set a new password (generated and returned once when None), lift the lock-out
        and end the account's sessions; audited."""
        chosen = password is not None
        password = new_password() if password is None else password
        with self._store.reading() as session:
            username = _account(session, site_code, staff_id).username
        reset: AdminInfo = self._store.accounts.set_admin_password(
            username, password, actor=actor, site_code=site_code
        )
        return StaffPassword(self.get(site_code, reset.id), None if chosen else password)


def _account(session: Session, site_code: str, staff_id: str) -> AdminAccount:
    """The account, if it belongs to ``site_code``; another site's is not found."""
    check_id(staff_id, "staff id")
    site = site_by_code(session, site_code)
    row = session.get(AdminAccount, staff_id)
    if row is None or row.site_id != site.id:
        raise NotFoundError(f"no staff account {staff_id}")
    return row


def _active_admin(row: AdminAccount) -> bool:
    return row.role == Role.ADMIN.value and row.disabled_at is None


def _other_admins(session: Session, row: AdminAccount) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(AdminAccount)
        .where(
            AdminAccount.site_id == row.site_id,
            AdminAccount.id != row.id,
            AdminAccount.role == Role.ADMIN.value,
            AdminAccount.disabled_at.is_(None),
        )
    )
    return int(count or 0)


def _info(row: AdminAccount) -> StaffInfo:
    return StaffInfo(
        row.id, row.username, Role(row.role), row.created_at, row.disabled_at, row.locked_until
    )
