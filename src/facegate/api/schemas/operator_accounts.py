"""An operator account's sign-in, its organisation's sites and counts (R-31)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from facegate.store.operator_accounts import OperatorOverview, OperatorSessionInfo


class OperatorSignInIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=256)


class OperatorSessionOut(BaseModel):
    """A new operator session; ``token`` is shown once (also set as the HttpOnly cookie)."""

    token: str
    organisation: str
    username: str
    expires_at: datetime

    @classmethod
    def of(cls, token: str, info: OperatorSessionInfo) -> OperatorSessionOut:
        return cls(
            token=token,
            organisation=info.organisation,
            username=info.username,
            expires_at=info.expires_at,
        )


class OperatorSiteOut(BaseModel):
    code: str
    name: str
    #: Distinct people with face data at this site.
    enrolled_people: int


class OperatorOverviewOut(BaseModel):
    """The organisation's sites and its total against the CAC filing threshold (R-31)."""

    organisation: str
    sites: list[OperatorSiteOut]
    #: Distinct people with face data across all its sites: the filing alert's count.
    enrolled_people: int
    threshold: int
    filing_due: bool
    alert_raised_at: datetime | None
    due_by: date | None

    @classmethod
    def of(cls, overview: OperatorOverview) -> OperatorOverviewOut:
        return cls(
            organisation=overview.organisation,
            sites=[
                OperatorSiteOut(code=s.code, name=s.name, enrolled_people=s.enrolled_people)
                for s in overview.sites
            ],
            enrolled_people=overview.enrolled_people,
            threshold=overview.threshold,
            filing_due=overview.alert_raised_at is not None,
            alert_raised_at=overview.alert_raised_at,
            due_by=overview.due_by,
        )
