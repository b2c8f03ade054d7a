"""Non-face credentials: metadata only, never a number, PIN, code or hash (except a new
code, shown once)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facegate.store.records import CredentialInfo, CredentialKind, CredentialStatus


class CardIn(BaseModel):
    card_number: str = Field(min_length=1, max_length=64)


class PinIn(BaseModel):
    pin: str = Field(min_length=1, max_length=64)


class CredentialOut(BaseModel):
    id: str
    subject_id: str
    kind: CredentialKind
    status: CredentialStatus
    created_at: datetime
    expires_at: datetime | None
    used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, info: CredentialInfo) -> CredentialOut:
        return cls(
            id=info.id,
            subject_id=info.subject_id,
            kind=info.kind,
            status=info.status,
            created_at=info.created_at,
            expires_at=info.expires_at,
            used_at=info.used_at,
            revoked_at=info.revoked_at,
        )


class IssuedCodeOut(BaseModel):
    """A one-time code (gate code or self-service sign-in code): shown once, never again."""

    code: str
    expires_at: datetime
