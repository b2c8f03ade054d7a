"""The resident's own view of themselves."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facegate.api.schemas.consents import ConsentOut
from facegate.api.schemas.credentials import CredentialOut
from facegate.api.schemas.subjects import SubjectOut


class MeOut(BaseModel):
    subject: SubjectOut
    consents: list[ConsentOut]
    credentials: list[CredentialOut]
    session_expires_at: datetime
    face_reenroll: bool = Field(
        default=False,
        description="my face templates are an older engine's: enroll again at the kiosk",
    )
