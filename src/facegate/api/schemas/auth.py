"""Sign-in bodies and the session a sign-in opens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facegate.store.accounts import Role


class AdminSignInIn(BaseModel):
    """Any staff member's sign-in (the path says admin for compatibility)."""

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=256)


class ResidentSignInIn(BaseModel):
    site: str = Field(min_length=1, max_length=64)
    #: The one-time code the front desk handed over.
    code: str = Field(min_length=1, max_length=32)


class SessionOut(BaseModel):
    """A new session; ``token`` is shown once (also set as the HttpOnly cookie)."""

    token: str
    role: Role
    site: str
    expires_at: datetime


class SignedOutOut(BaseModel):
    signed_out: bool


class CurrentSessionOut(BaseModel):
    """The session already held (``GET /auth/session``): never its token."""

    role: Role
    site: str
    expires_at: datetime
