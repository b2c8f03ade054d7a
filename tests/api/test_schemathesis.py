"""schemathesis against the app's OpenAPI: no generated request gets a server error.

The schema is read from an app built without starting it; each operation then runs its
generated cases through a started app on a real store, as a gate device (device routes)
or a signed-in administrator (every other route), so the cases reach past the 401s.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from facegate.api.app import create_app
from facegate.api.ratelimit import RateLimiter
from facegate.core.config import Environment, Settings
from facegate.store import Store
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE
from tests.api.gate_helpers import use_pipeline
from tests.store.helpers import OPERATOR, ready_site

#: Per operation; about 45 operations stay under a minute in all.
MAX_EXAMPLES = 15
DEVICE_PATHS = ("/api/v1/decisions", "/api/v1/enrollments")

schema = schemathesis.openapi.from_dict(
    create_app(Settings(data_dir=Path("unused"), env=Environment.DEVELOPMENT)).openapi()
)


@pytest.fixture(scope="module")
def started(
    tmp_path_factory: pytest.TempPathFactory, pipeline: FacePipeline
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One started app for every operation (setting up a site costs seconds), with the
    headers of each role. Its rate limiter's clock jumps a minute per event, so that no
    limit hides a path from the generated cases."""
    data_dir = tmp_path_factory.mktemp("schemathesis")
    app_settings = Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)
    with Store.open(app_settings) as store:
        for code in (SITE, OTHER_SITE):
            ready_site(store, code, code)
            store.gates.configure(
                code, "main", "Main gate",
                accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
                actor=OPERATOR,
            )  # fmt: skip
            store.accounts.create_admin(code, f"admin@{code}", ADMIN_PASSWORD, actor=OPERATOR)
        device = store.devices.register(SITE, "Kiosk 1", ["main"], actor=OPERATOR)
        admin = store.accounts.sign_in_admin(f"admin@{SITE}", ADMIN_PASSWORD)
        app = create_app(app_settings, store=store)
        with TestClient(app, raise_server_exceptions=False) as client:
            state = use_pipeline(client, pipeline)
            minutes = itertools.count(step=61)
            state.limiter = RateLimiter(clock=lambda: float(next(minutes)))
            yield client, {"device": f"Bearer {device.api_key}", "admin": f"Bearer {admin.token}"}


def _request_kwargs(case: schemathesis.Case[Any], authorization: str) -> dict[str, Any]:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    headers = dict(kwargs.pop("headers") or {})
    headers["Authorization"] = authorization
    if case.cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in case.cookies.items())
    data = kwargs.pop("data", None)
    if isinstance(data, (bytes, str)):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    return {**kwargs, "headers": headers}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error(
    case: schemathesis.Case[Any], started: tuple[TestClient, dict[str, str]]
) -> None:
    client, headers_by_role = started
    role = "device" if case.path in DEVICE_PATHS else "admin"
    response = client.request(**_request_kwargs(case, headers_by_role[role]))
    assert response.status_code < 500, (case.method, case.path, response.text)
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        assert set(response.json()) == {"error"}, response.text
