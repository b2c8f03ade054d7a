"""Every error the service answers is a stable JSON body with a 4xx status, never a 500
with a traceback: ``{"error": {"code": "...", "message": "..."}}``."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from facegate import errors

logger = logging.getLogger(__name__)

#: Most specific class first: the first match decides the status.
_STATUS: tuple[tuple[type[errors.FacegateError], HTTPStatus], ...] = (
    (errors.AuthenticationError, HTTPStatus.UNAUTHORIZED),
    (errors.PermissionDeniedError, HTTPStatus.FORBIDDEN),
    (errors.RateLimitedError, HTTPStatus.TOO_MANY_REQUESTS),
    (errors.PipelineBusyError, HTTPStatus.SERVICE_UNAVAILABLE),
    (errors.NotFoundError, HTTPStatus.NOT_FOUND),
    (errors.AlreadyExistsError, HTTPStatus.CONFLICT),
    (errors.ConsentRequiredError, HTTPStatus.CONFLICT),
    (errors.AssessmentRequiredError, HTTPStatus.CONFLICT),
    (errors.PolicyError, HTTPStatus.CONFLICT),
    (errors.InvalidRecordError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (errors.ImageTooLargeError, HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    (errors.ImageError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (errors.FaceError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (errors.DatasetError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (errors.ConfigError, HTTPStatus.SERVICE_UNAVAILABLE),
    (errors.ModelError, HTTPStatus.SERVICE_UNAVAILABLE),
    (errors.KeyMaterialError, HTTPStatus.SERVICE_UNAVAILABLE),
    (errors.IntegrityViolationError, HTTPStatus.SERVICE_UNAVAILABLE),
)


#: Codes that must not change with Python's wording of the status phrase.
_HTTP_CODES: dict[int, str] = {HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "request_too_large"}


class ApiError(errors.FacegateError):
    """An error that only the web layer knows (authentication, rate limits, bad requests)."""

    def __init__(
        self, status: HTTPStatus, code: str, message: str, *, reason: str | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.status = status
        self.code = code


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


def status_of(exc: errors.FacegateError) -> HTTPStatus:
    if isinstance(exc, ApiError):
        return exc.status
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return HTTPStatus.BAD_REQUEST


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the stable error body."""

    @app.exception_handler(errors.FacegateError)
    async def _facegate(_: Request, exc: errors.FacegateError) -> JSONResponse:
        extra: dict[str, object] = {}
        if isinstance(exc, errors.PoorQualityError):
            extra["reasons"] = list(exc.reasons)
        if exc.reason is not None:
            extra["reason"] = exc.reason
        if exc.until is not None:
            extra["until"] = exc.until.isoformat()
        status = status_of(exc)
        headers = None
        if isinstance(exc, errors.RateLimitedError | errors.PipelineBusyError):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(
            error_body(exc.code, str(exc), **extra), status_code=status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        return JSONResponse(
            error_body("invalid_request", "the request is malformed", problems=problems),
            status_code=HTTPStatus.UNPROCESSABLE_ENTITY,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code) or HTTPStatus(exc.status_code).phrase.lower()
        code = code.replace(" ", "_")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Logged with the type only: a message could hold personal data.
        logger.error("unexpected %s while serving a request", type(exc).__name__, exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "an unexpected error; it was logged"),
            status_code=HTTPStatus.INTERNAL_SERVER_ERROR,
        )
