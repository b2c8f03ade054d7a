"""Signing in and out: staff (administrators, front desk, auditors) by password,
residents by a one-time code; and the session a page already holds.

Sign-in attempts are rate-limited per client address (``SIGNIN_ATTEMPTS``), in front of
the account lock-out the store keeps.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from facegate.api.deps import SESSION_COOKIE, State, StoreDep, current_session, session_token
from facegate.api.ratelimit import SIGNIN_ATTEMPTS
from facegate.api.schemas.auth import (
    AdminSignInIn,
    CurrentSessionOut,
    ResidentSignInIn,
    SessionOut,
    SignedOutOut,
)
from facegate.errors import AuthenticationError, NotFoundError
from facegate.store.accounts import OpenedSession, SessionInfo
from facegate.store.schema import utcnow

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _limit_signins(request: Request, state: State) -> None:
    address = request.client.host if request.client else "unknown"
    state.hit(SIGNIN_ATTEMPTS, address)


SigninLimit = Depends(_limit_signins)


def _opened(opened: OpenedSession, response: Response, state: State) -> SessionOut:
    info = opened.info
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=max(1, int((info.expires_at - utcnow()).total_seconds())),
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
        path="/",
    )
    return SessionOut(
        token=opened.token, role=info.role, site=info.site_code, expires_at=info.expires_at
    )


@router.post("/admin", response_model=SessionOut, dependencies=[SigninLimit])
def sign_in_admin(
    body: AdminSignInIn, response: Response, store: StoreDep, state: State
) -> SessionOut:
    """Role: anyone. A staff member's session (8 h) with their account's role; the same
    refusal for an unknown username, a wrong password or a disabled account, and reason
    ``locked`` with ``until`` while the account is locked."""
    return _opened(store.accounts.sign_in_admin(body.username, body.password), response, state)


@router.post("/resident", response_model=SessionOut, dependencies=[SigninLimit])
def sign_in_resident(
    body: ResidentSignInIn, response: Response, store: StoreDep, state: State
) -> SessionOut:
    """Role: anyone. Spends the resident's one-time sign-in code for a short session."""
    try:
        opened = store.accounts.sign_in_resident(body.site, body.code)
    except NotFoundError:
        # An unknown site is refused like a wrong code.
        raise AuthenticationError(
            "this sign-in code is not valid (wrong, used or expired)", reason="signin_code_invalid"
        ) from None
    return _opened(opened, response, state)


@router.post("/logout", response_model=SignedOutOut)
def sign_out(
    request: Request,
    response: Response,
    store: StoreDep,
    _: Annotated[SessionInfo, Depends(current_session)],
) -> SignedOutOut:
    """Role: a signed-in administrator or resident. Ends the session presented."""
    store.accounts.sign_out(session_token(request))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return SignedOutOut(signed_out=True)


@router.get("/session", response_model=CurrentSessionOut)
def current(session: Annotated[SessionInfo, Depends(current_session)]) -> CurrentSessionOut:
    """Role: a signed-in staff member or resident. The session the cookie (or bearer token)
    stands for: role, site and expiry, never the token; 401 when there is none, so a new
    tab shows the console straight away or the sign-in form."""
    return CurrentSessionOut(
        role=session.role, site=session.site_code, expires_at=session.expires_at
    )
