"""Staff accounts as their site administrator manages them: never a password hash."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facegate.store.accounts import MAX_PASSWORD_LENGTH, Role
from facegate.store.schema import ACTOR_LENGTH
from facegate.store.staff import StaffInfo, StaffPassword


class StaffIn(BaseModel):
    """A new staff account. Without ``password`` one is generated and shown once."""

    username: str = Field(min_length=1, max_length=ACTOR_LENGTH)
    role: Role
    password: str | None = Field(default=None, min_length=1, max_length=MAX_PASSWORD_LENGTH)


class StaffChangeIn(BaseModel):
    """Change the role and/or disable (true) or enable (false) an account."""

    role: Role | None = None
    disabled: bool | None = None


class PasswordResetIn(BaseModel):
    """A new password chosen by the administrator; left out, one is generated."""

    password: str | None = Field(default=None, min_length=1, max_length=MAX_PASSWORD_LENGTH)


class StaffOut(BaseModel):
    id: str
    username: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None
    #: While the account is locked after failed sign-ins.
    locked_until: datetime | None

    @classmethod
    def of(cls, info: StaffInfo) -> StaffOut:
        return cls(
            id=info.id,
            username=info.username,
            role=info.role,
            created_at=info.created_at,
            disabled_at=info.disabled_at,
            locked_until=info.locked_until,
        )


class StaffPasswordOut(BaseModel):
    """An account and, when the service generated it, its new ``password``: shown once,
    never stored (null when the administrator chose it)."""

    staff: StaffOut
    password: str | None

    @classmethod
    def of(cls, made: StaffPassword) -> StaffPasswordOut:
        return cls(staff=StaffOut.of(made.info), password=made.password)
