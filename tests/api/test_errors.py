"""The error mapping: every typed error gets its status and the stable body; a bug is a
generic 500 that leaks nothing."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from fastapi.testclient import TestClient

from facegate import errors
from facegate.api.errors import status_of


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.AuthenticationError("x"), HTTPStatus.UNAUTHORIZED),
        (errors.PermissionDeniedError("x"), HTTPStatus.FORBIDDEN),
        (errors.RateLimitedError("x", 3), HTTPStatus.TOO_MANY_REQUESTS),
        (errors.PipelineBusyError("x", 1), HTTPStatus.SERVICE_UNAVAILABLE),
        (errors.NotFoundError("x"), HTTPStatus.NOT_FOUND),
        (errors.RenewalRequiredError("x"), HTTPStatus.CONFLICT),
        (errors.PolicyError("x"), HTTPStatus.CONFLICT),
        (errors.InvalidRecordError("x"), HTTPStatus.UNPROCESSABLE_ENTITY),
        (errors.ImageTooLargeError("x"), HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
        (errors.NoFaceError("x"), HTTPStatus.UNPROCESSABLE_ENTITY),
        (errors.ModelIntegrityError("x"), HTTPStatus.SERVICE_UNAVAILABLE),
        (errors.KeyMaterialError("x"), HTTPStatus.SERVICE_UNAVAILABLE),
        (errors.FacegateError("x"), HTTPStatus.BAD_REQUEST),
    ],
)
def test_each_error_has_its_status(error: errors.FacegateError, status: HTTPStatus) -> None:
    assert status_of(error) is status


def test_a_typed_error_and_a_bug_both_answer_the_stable_body(client: TestClient) -> None:
    app = client.app

    @app.get("/_test/limited")  # type: ignore[attr-defined, untyped-decorator]
    def limited() -> None:
        raise errors.RateLimitedError("too many", 7)

    @app.get("/_test/bug")  # type: ignore[attr-defined, untyped-decorator]
    def bug() -> None:
        raise RuntimeError("secret detail: Zhang San")

    response = client.get("/_test/limited")
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert response.json() == {"error": {"code": "rate_limited", "message": "too many"}}
    response = client.get("/_test/bug")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "Zhang San" not in response.text
