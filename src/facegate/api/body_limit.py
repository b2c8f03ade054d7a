"""The request-size limit, enforced on the bytes as they arrive.

``Content-Length`` alone is no limit: a chunked body has none. The body is counted as
uvicorn hands it over and refused with 413 the moment it passes the limit, before FastAPI
parses JSON or spools a multipart file, on every route.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facegate.api.errors import error_body

REQUEST_TOO_LARGE = "request_too_large"


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` past the limit. FastAPI's ``HTTPException`` because it turns
    any other exception raised while it reads a body into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            too_large_message(limit),
            headers={"Connection": "close"},
        )


def too_large_message(limit: int) -> str:
    return f"the request body is over {limit} bytes"


def too_large_response(limit: int) -> JSONResponse:
    return JSONResponse(
        error_body(REQUEST_TOO_LARGE, too_large_message(limit)),
        status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        # The rest of the body is never read: the connection cannot be reused.
        headers={"Connection": "close"},
    )


class BodyLimitMiddleware:
    """Pure ASGI (no buffering): 413 for a declared or streamed body over ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await too_large_response(self.limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLargeError(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            # Raised where no exception handler runs (e.g. a middleware reading the body).
            if not started:
                await too_large_response(self.limit)(scope, receive, send)
