"""Cross-site request forgery: a state change riding on the session cookie must come from
the service's own pages.

SameSite=Strict already keeps the cookie off cross-site requests in current browsers; this
is the second line for the others (and for sibling sites, which SameSite counts as the same
site). A request that changes state and is not authenticated by a bearer header (devices,
API clients: a forger's page cannot set that header) must carry an ``Origin`` (or, failing
that, a ``Referer``) whose host is the one it was sent to. A session cookie without either
is refused; so is any foreign ``Origin``, which also stops a forged sign-in.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from facegate.api.deps import SESSION_COOKIE
from facegate.api.errors import error_body

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CROSS_ORIGIN = "cross_origin_refused"


def _own_host(source: str, host: str) -> bool:
    try:
        parts = urlsplit(source)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and parts.netloc.lower() == host.lower()


def refusal(headers: dict[bytes, bytes]) -> str | None:
    """Why this state-changing request is refused, or None when it may go on."""
    scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
    if scheme.lower() == b"bearer" and token.strip():  # as deps.bearer_token reads it
        return None
    cookies = headers.get(b"cookie", b"").decode("latin-1")
    has_session = any(part.strip().startswith(f"{SESSION_COOKIE}=") for part in cookies.split(";"))
    origin = headers.get(b"origin")
    if not has_session and origin is None:
        return None
    host = headers.get(b"host", b"").decode("latin-1")
    source = origin if origin is not None else headers.get(b"referer")
    if source is None:
        return "a request signed in by cookie must say where it comes from (Origin)"
    if not _own_host(source.decode("latin-1"), host):
        return "this request comes from another site's page"
    return None


class SameOriginMiddleware:
    """403 for a cookie-authenticated (or foreign-origin) state change from elsewhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in STATE_CHANGING:
            why = refusal(dict(scope["headers"]))
            if why is not None:
                response = JSONResponse(
                    error_body(CROSS_ORIGIN, why), status_code=HTTPStatus.FORBIDDEN
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
