"""The ``Idempotency-Key`` header on creates: a retried request is done once.

Every ``POST`` under ``/api/v1/sites/`` and ``/api/v1/me`` takes the header, without the
route doing anything. The same principal (session or device) sending the same key within
``KEY_TTL`` (24 h) with the same method, path and body gets the first answer replayed
(header ``Idempotent-Replayed: true``) and nothing is done twice; the same key with a
different request is refused (422 ``idempotency_key_reused``). An answer holding a
one-time secret (a sign-in code, a gate code, a device key, a password) is never kept: a
retry is told it was a duplicate (409 ``duplicate_request``), and the secret stays shown
once. Only successful answers are kept: a refused request did nothing and may be retried.

Concurrent requests with one key run once: the second waits (``RUNNING_WAIT``) for the
first one's answer. Keys live in the database, so this holds across processes.
"""

from __future__ import annotations

import hashlib
import json
import re
from http import HTTPStatus

import anyio
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facegate.api.deps import SESSION_COOKIE
from facegate.api.errors import error_body
from facegate.errors import FacegateError
from facegate.store import Store
from facegate.store.accounts import token_digest
from facegate.store.idempotency import ClaimOutcome

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: Keys are opaque: 1 to 64 visible ASCII characters.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,64}")
#: The routes that take a key.
COVERED_PREFIXES = ("/api/v1/sites/", "/api/v1/me/")
COVERED_PATHS = frozenset({"/api/v1/me"})
#: Top-level answer fields that hold a one-time secret in this API's create answers
#: (``IssuedCodeOut.code``, ``RegisteredDeviceOut.api_key``, a staff ``password``...).
SECRET_FIELDS = frozenset({"code", "api_key", "password", "token", "pin", "secret", "qr", "qr_svg"})
#: The ``request.state`` flag a route may set to say its answer holds a one-time secret.
SECRET_FLAG = "one_time_secret"  # noqa: S105 (a flag name, not a secret)
#: Larger answers are not kept (a retry is told it was a duplicate).
MAX_KEPT_BODY = 1 << 20
#: How long a duplicate waits for the first request's answer, and how often it looks.
RUNNING_WAIT = 30.0
RUNNING_POLL = 0.05

DUPLICATE = "duplicate_request"
REUSED = "idempotency_key_reused"
INVALID = "idempotency_key_invalid"


def mark_one_time_secret(request: Request) -> None:
    """For a route whose answer holds a one-time secret under another field name."""
    setattr(request.state, SECRET_FLAG, True)


def covered(method: str, path: str) -> bool:
    return method == "POST" and (path in COVERED_PATHS or path.startswith(COVERED_PREFIXES))


class IdempotencyMiddleware:
    """Pure ASGI: requests without the header pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not covered(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not KEY_PATTERN.fullmatch(key):
            await _refuse(HTTPStatus.UNPROCESSABLE_ENTITY, INVALID, "bad Idempotency-Key")(
                scope, receive, send
            )
            return
        store: Store = scope["app"].state.facegate.store
        principal = await run_in_threadpool(_principal, store, headers)
        if principal is None:
            # Not signed in: the route refuses it; nothing to remember.
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        # Where ``mark_one_time_secret`` leaves its flag: a route's scope may be a copy.
        scope.setdefault("state", {})
        fingerprint = _fingerprint(scope, headers, body)
        claim = await run_in_threadpool(store.idempotency.claim, principal, key, fingerprint)
        waited = 0.0
        while claim.outcome is ClaimOutcome.RUNNING and waited < RUNNING_WAIT:
            await anyio.sleep(RUNNING_POLL)
            waited += RUNNING_POLL
            claim = await run_in_threadpool(store.idempotency.claim, principal, key, fingerprint)
        if claim.outcome is ClaimOutcome.FIRST:
            await self._first(scope, body, send, store, principal, key)
            return
        if claim.outcome is ClaimOutcome.REPLAY and claim.status is not None:
            replay = Response(
                claim.body or "",
                status_code=claim.status,
                media_type="application/json",
                headers={REPLAYED_HEADER: "true"},
            )
            await replay(scope, receive, send)
            return
        if claim.outcome is ClaimOutcome.REUSED:
            refusal = _refuse(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                REUSED,
                "this Idempotency-Key was used for a different request",
            )
        else:  # SECRET, or still RUNNING after the wait
            refusal = _refuse(
                HTTPStatus.CONFLICT,
                DUPLICATE,
                "this request was already made with this Idempotency-Key",
            )
        await refusal(scope, receive, send)

    async def _first(
        self, scope: Scope, body: bytes, send: Send, store: Store, principal: str, key: str
    ) -> None:
        """Run the request once and keep its answer if it succeeded."""
        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        status = 0
        chunks: list[bytes] = []
        size = 0

        async def capture(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunk = bytes(message.get("body", b""))
                size += len(chunk)
                if size <= MAX_KEPT_BODY:
                    chunks.append(chunk)
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(store.idempotency.release, principal, key)
            raise
        if not HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
            await run_in_threadpool(store.idempotency.release, principal, key)
            return
        answer = b"".join(chunks)
        secret = (
            bool(scope.get("state", {}).get(SECRET_FLAG))
            or size > MAX_KEPT_BODY
            or _holds_secret(answer)
        )
        kept = None if secret else answer.decode("utf-8", errors="replace")
        await run_in_threadpool(
            store.idempotency.finish, principal, key, status, kept, secret=secret
        )


def _principal(store: Store, headers: Headers) -> str | None:
    """``role:id`` of the session presented (bearer or cookie), ``device:id`` of a device
    key, or None when neither is valid."""
    header = headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else ""
    if not token:
        token = _cookie(headers.get("cookie", ""), SESSION_COOKIE)
    if not token:
        return None
    try:
        info = store.accounts.session(token)
        return f"{info.role.value}:{info.principal_id}"
    except FacegateError:
        pass
    try:
        device = store.devices.authenticate(token)
    except FacegateError:
        return None
    # A device's key digest, not its id alone: a re-registered key is a new principal.
    return f"device:{device.id}:{token_digest(token)[:16]}"


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


async def _read_body(receive: Receive) -> bytes:
    """The whole body (the body limit, outside this middleware, has already capped it)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _fingerprint(scope: Scope, headers: Headers, body: bytes) -> str:
    """SHA-256 of method, path, query and body. A multipart body's random boundary is left
    out: a browser resending the same form picks a new one."""
    content_type = headers.get("content-type", "")
    _, _, boundary = content_type.partition("boundary=")
    boundary = boundary.split(";")[0].strip().strip('"')
    if boundary:
        body = body.replace(boundary.encode("latin-1"), b"")
    digest = hashlib.sha256()
    for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1")):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(body)
    return digest.hexdigest()


def _holds_secret(answer: bytes) -> bool:
    try:
        parsed = json.loads(answer)
    except ValueError:
        return False
    return isinstance(parsed, dict) and not SECRET_FIELDS.isdisjoint(parsed)


def _refuse(status: HTTPStatus, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)
