"""The ``Idempotency-Key`` header on creates: a retried request is done once.

Every ``POST`` under ``/api/v1/sites/`` and ``/api/v1/me`` takes the header, without the
route doing anything. The same principal (session or device) sending the same key within
``KEY_TTL`` (24 h) with the same method, path, query, content type and body (a multipart
body's boundary aside, see ``_fingerprint``) gets the first answer replayed
(header ``Idempotent-Replayed: true``) and nothing is done twice; the same key with a
different request is refused (422 ``idempotency_key_reused``). An answer holding a
one-time secret (a sign-in code, a gate code, a device key, a password) is never kept: a
retry is told it was a duplicate (409 ``duplicate_request``), and the secret stays shown
once. Only successful answers are kept: a refused request did nothing and may be retried.
An answer larger than ``MAX_KEPT_BODY``, or past the principal's
``store.idempotency.MAX_KEPT_PER_PRINCIPAL`` answers kept within 24 h, is not kept either
and its retry is likewise a 409 ``duplicate_request``.

A dry run (query ``dry_run=true``) does nothing to repeat: it takes no key at all. A route
whose dry run is its default may call ``mark_dry_run``: its answer is then not kept.

Concurrent requests with one key run once: the second waits (``RUNNING_WAIT``, reading the
key's row every ``RUNNING_POLL``) for the first one's answer, and is answered 409
``duplicate_request`` if there is none by then. Keys live in the database, so this holds
across processes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import anyio
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
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
#: Answer fields (at any depth) that hold a one-time secret in this API's create answers
#: (``IssuedCodeOut.code``, ``RegisteredDeviceOut.api_key``, a staff ``password``...).
SECRET_FIELDS = frozenset({"code", "api_key", "password", "token", "pin", "secret", "qr", "qr_svg"})
#: The ``request.state`` flag a route may set to say its answer holds a one-time secret.
SECRET_FLAG = "one_time_secret"  # noqa: S105 (a flag name, not a secret)
#: The ``request.state`` flag a route sets when its request was a dry run: not kept.
DRY_RUN_FLAG = "dry_run"
#: The query parameter of a dry run, and the values FastAPI reads as true.
DRY_RUN_PARAM = "dry_run"
TRUE_WORDS = frozenset({"1", "on", "t", "true", "y", "yes"})
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


def mark_dry_run(request: Request) -> None:
    """For a route whose request did nothing to repeat (a dry run by default): its answer
    is not kept and the key is forgotten."""
    setattr(request.state, DRY_RUN_FLAG, True)


def covered(method: str, path: str) -> bool:
    return method == "POST" and (path in COVERED_PATHS or path.startswith(COVERED_PREFIXES))


class IdempotencyMiddleware:
    """Pure ASGI: requests without the header pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not covered(scope["method"], scope["path"])
            or _dry_run(scope)
        ):
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
            # A read; a write only once the key is free again (the first one failed).
            seen = await run_in_threadpool(store.idempotency.peek, principal, key, fingerprint)
            if seen is None:
                seen = await run_in_threadpool(store.idempotency.claim, principal, key, fingerprint)
            claim = seen
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
        state = scope.get("state", {})
        if not HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES or state.get(DRY_RUN_FLAG):
            await run_in_threadpool(store.idempotency.release, principal, key)
            return
        answer = b"".join(chunks)
        secret = bool(state.get(SECRET_FLAG)) or size > MAX_KEPT_BODY or _holds_secret(answer)
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


def _dry_run(scope: Scope) -> bool:
    """Whether the query asks for a dry run (the last ``dry_run``, as FastAPI reads it)."""
    value = QueryParams(scope.get("query_string", b"")).get(DRY_RUN_PARAM)
    return value is not None and value.strip().lower() in TRUE_WORDS


def _fingerprint(scope: Scope, headers: Headers, body: bytes) -> str:
    """SHA-256 of method, path, query, content type and body. A multipart body's random
        boundary is left out (a browser resending the same form picks a new one): the
        ``boundary`` parameter of the content type, and the whole delimiter lines
        (``--boundary``, ``--boundary--``) of the body, which is hashed as the pieces between
        them. Only those lines: anything else counts, and the boundary too when a line of the
    body starts like a delimiter without being one."""
    media_type, params = _content_type(headers.get("content-type", ""))
    boundary = params.pop("boundary", "")
    digest = hashlib.sha256()
    query = scope.get("query_string", b"").decode("latin-1")
    kind = ";".join([media_type, *(f"{name}={value}" for name, value in sorted(params.items()))])
    for part in (scope["method"], scope["path"], query, kind):
        digest.update(part.encode("utf-8") + b"\0")
    if not boundary:
        digest.update(body)
        return digest.hexdigest()
    marker = boundary.encode("latin-1", errors="replace")
    # (?m)^ is a line start; the delimiter line ends at CRLF, LF or the end of the body.
    delimiter = re.compile(rb"(?m)^--" + re.escape(marker) + rb"(--)?([ \t]*)(?=\r?\n|\Z)")
    pieces = delimiter.split(body)
    digest.update(b"multipart\0")
    for piece in pieces:  # text, then (closing, padding, text) per delimiter line
        data = b"\xff" if piece is None else piece
        digest.update(len(data).to_bytes(8, "big") + data)
    if len(re.findall(rb"(?m)^--" + re.escape(marker), body)) != len(pieces) // 3:
        # A line starting like a delimiter that is not one: a parser may read this body
        # apart from the same pieces under another boundary, so the boundary counts.
        digest.update(b"\0boundary\0" + marker)
    return digest.hexdigest()


def _content_type(header: str) -> tuple[str, dict[str, str]]:
    """The media type (lower case) and parameters of a ``Content-Type`` header."""
    media_type, *rest = header.split(";")
    params: dict[str, str] = {}
    for param in rest:
        name, _, value = param.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return media_type.strip().lower(), params


def _holds_secret(answer: bytes) -> bool:
    """Whether a JSON answer has a ``SECRET_FIELDS`` key in any object, at any depth."""
    try:
        parsed = json.loads(answer)
    except ValueError:
        return False
    return any(not SECRET_FIELDS.isdisjoint(found) for found in _objects(parsed))


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``value``, itself included, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _refuse(status: HTTPStatus, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)
