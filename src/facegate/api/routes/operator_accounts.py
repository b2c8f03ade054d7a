"""A property company's operator account (``store.operator_accounts``): sign in, see its
organisation's sites and their people against the CAC filing threshold (R-31), and open a
site administrator's session at one of its own sites.

It never reaches a site route itself: those answer an operator account's token 403
(reason ``needs_site_session``). The session it opens at one site is an ordinary
administrator's session of that site, so every site route keeps its own checks, and a site
of another organisation is not found (404) exactly like an unknown code.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response

from facegate.api.deps import (
    OPERATOR_SESSION_COOKIE,
    SESSION_COOKIE,
    OperatorAccount,
    State,
    StoreDep,
    bearer_token,
)
from facegate.api.idempotency import mark_one_time_secret
from facegate.api.ratelimit import SIGNIN_ATTEMPTS
from facegate.api.schemas.auth import SessionOut, SignedOutOut
from facegate.api.schemas.operator_accounts import (
    OperatorOverviewOut,
    OperatorSessionOut,
    OperatorSignInIn,
)
from facegate.store.operator_accounts import ACTOR_PREFIX

router = APIRouter(prefix="/api/v1/operator-account", tags=["operator account"])


def _set_cookie(
    response: Response, state: State, name: str, token: str, expires_at: datetime
) -> None:
    """The session's HttpOnly cookie, ending when the session does."""
    response.set_cookie(
        name,
        token,
        expires=expires_at,
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
        path="/",
    )


@router.post("/auth", response_model=OperatorSessionOut)
def sign_in(
    body: OperatorSignInIn, request: Request, response: Response, store: StoreDep, state: State
) -> OperatorSessionOut:
    """Role: anyone. An operator account's session (8 h); the same refusal for an unknown
    username, a wrong password or a disabled account, and reason ``locked`` with ``until``
    while the account is locked. Rate-limited per address like the staff sign-in, on a
    count of its own."""
    address = request.client.host if request.client else "unknown"
    # Its own count per address: a guesser here tries operator accounts, not staff ones.
    state.hit(SIGNIN_ATTEMPTS, f"{ACTOR_PREFIX}:{address}")
    opened = store.operator_accounts.sign_in(body.username, body.password)
    _set_cookie(response, state, OPERATOR_SESSION_COOKIE, opened.token, opened.info.expires_at)
    return OperatorSessionOut.of(opened.token, opened.info)


@router.post("/logout", response_model=SignedOutOut)
def sign_out(
    request: Request, response: Response, store: StoreDep, account: OperatorAccount
) -> SignedOutOut:
    """Role: an operator account. Ends the operator session presented and every site
    session the account opened."""
    token = bearer_token(request) or request.cookies.get(OPERATOR_SESSION_COOKIE, "")
    store.operator_accounts.sign_out(token)
    response.delete_cookie(OPERATOR_SESSION_COOKIE, path="/")
    return SignedOutOut(signed_out=True)


@router.get("/sites", response_model=OperatorOverviewOut)
def sites(store: StoreDep, account: OperatorAccount) -> OperatorOverviewOut:
    """Role: an operator account. Its organisation's sites, each one's enrolled people and
    the organisation's total against the CAC filing threshold (R-31): the same count the
    filing alert uses. Audited at each site."""
    return OperatorOverviewOut.of(store.operator_accounts.overview(account.account_id))


@router.post("/sites/{site}/session", response_model=SessionOut, status_code=201)
def open_site_session(
    site: str,
    request: Request,
    response: Response,
    store: StoreDep,
    state: State,
    account: OperatorAccount,
) -> SessionOut:
    """Role: an operator account. A site administrator's session at ``site``, one of its
    organisation's (another's is 404, like an unknown code); it ends no later than the
    operator session. Audited at the site; the token is in this answer only (and the
    console's cookie)."""
    mark_one_time_secret(request)
    opened = store.operator_accounts.open_site_session(
        account.account_id, site, not_after=account.expires_at
    )
    info = opened.info
    _set_cookie(response, state, SESSION_COOKIE, opened.token, info.expires_at)
    return SessionOut(
        token=opened.token, role=info.role, site=info.site_code, expires_at=info.expires_at
    )
