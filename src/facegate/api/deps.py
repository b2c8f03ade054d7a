"""Request dependencies: the app state, and who is asking (admin, resident, gate device).

Admins and residents present a session token as the ``facegate_session`` cookie (pages)
or an ``Authorization: Bearer`` header (API); devices present their API key as
``Authorization: Bearer``. Each route states the one role it serves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from facegate.api.state import AppState
from facegate.errors import AuthenticationError, PermissionDeniedError
from facegate.store import Store
from facegate.store.accounts import DeviceInfo, Role, SessionInfo
from facegate.store.operator_accounts import OperatorSessionInfo

SESSION_COOKIE = "facegate_session"
#: An operator account's own session (its site sessions use ``SESSION_COOKIE``).
OPERATOR_SESSION_COOKIE = "facegate_operator_session"


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.facegate
    return state


State = Annotated[AppState, Depends(app_state)]


def get_store(state: State) -> Store:
    return state.store


StoreDep = Annotated[Store, Depends(get_store)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def session_token(request: Request) -> str:
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise AuthenticationError("not signed in", reason="not_signed_in")
    return token


def current_session(request: Request, store: StoreDep) -> SessionInfo:
    token = session_token(request)
    try:
        return store.accounts.session(token)
    except AuthenticationError:
        # A known operator account is told how to act at a site, not "not signed in".
        if store.operator_accounts.is_session(token):
            raise PermissionDeniedError(
                "an operator account acts at one of its sites through a session it opens there",
                reason="needs_site_session",
            ) from None
        raise


def current_operator_account(request: Request, store: StoreDep) -> OperatorSessionInfo:
    """The property company's operator account signed in (``store.operator_accounts``);
    a staff or resident session is refused (403), anything else is not signed in (401)."""
    token = bearer_token(request) or request.cookies.get(OPERATOR_SESSION_COOKIE)
    if not token:
        raise AuthenticationError("not signed in", reason="not_signed_in")
    try:
        return store.operator_accounts.session(token)
    except AuthenticationError:
        if not _site_session(store, token):
            raise
    raise PermissionDeniedError(
        "this needs a property company's operator account", reason="needs_operator_account"
    )


def _site_session(store: Store, token: str) -> bool:
    """Whether ``token`` is a live staff or resident session."""
    try:
        store.accounts.session(token)
    except AuthenticationError:
        return False
    return True


def current_admin(session: Annotated[SessionInfo, Depends(current_session)]) -> SessionInfo:
    if session.role is not Role.ADMIN:
        raise PermissionDeniedError("this needs a site administrator", reason="needs_admin")
    return session


def current_desk(session: Annotated[SessionInfo, Depends(current_session)]) -> SessionInfo:
    if session.role not in {Role.ADMIN, Role.OPERATOR}:
        raise PermissionDeniedError(
            "this needs the front desk or a site administrator", reason="needs_desk"
        )
    return session


def current_reader(session: Annotated[SessionInfo, Depends(current_session)]) -> SessionInfo:
    if session.role not in {Role.ADMIN, Role.AUDITOR}:
        raise PermissionDeniedError(
            "this needs an auditor or a site administrator", reason="needs_reader"
        )
    return session


def current_staff(session: Annotated[SessionInfo, Depends(current_session)]) -> SessionInfo:
    if session.role is Role.RESIDENT:
        raise PermissionDeniedError(
            "this is for the community office's staff", reason="needs_staff"
        )
    return session


def current_resident(session: Annotated[SessionInfo, Depends(current_session)]) -> SessionInfo:
    if session.role is not Role.RESIDENT:
        raise PermissionDeniedError(
            "this is the resident's own self-service", reason="residents_only"
        )
    return session


def current_device(request: Request, store: StoreDep) -> DeviceInfo:
    key = bearer_token(request)
    if key is None:
        raise AuthenticationError(
            "a gate device presents its API key as a bearer token", reason="device_key_missing"
        )
    return store.devices.authenticate(key)


#: Site administrator only: deletion, settings, staff accounts.
Admin = Annotated[SessionInfo, Depends(current_admin)]
#: Front desk (operator) or administrator: residents, consent, credentials, enrollment.
Desk = Annotated[SessionInfo, Depends(current_desk)]
#: Auditor or administrator: read-only audit, compliance and decisions.
Reader = Annotated[SessionInfo, Depends(current_reader)]
#: Any staff role: the site's name, the console's shell.
Staff = Annotated[SessionInfo, Depends(current_staff)]
Resident = Annotated[SessionInfo, Depends(current_resident)]
#: A property company's operator account: its sites, their counts, a session at one of them.
OperatorAccount = Annotated[OperatorSessionInfo, Depends(current_operator_account)]
Device = Annotated[DeviceInfo, Depends(current_device)]


def require_site(session: SessionInfo, site_code: str) -> None:
    """An admin acts only on their own site: another site's data is never readable."""
    if session.site_code != site_code:
        raise PermissionDeniedError(
            "this administrator belongs to another site", reason="other_site"
        )
