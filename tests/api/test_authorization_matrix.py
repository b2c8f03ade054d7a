"""Every route, every role: who may call it, and that everyone else gets 401 or 403.

The matrix names each route's one role. A route added to the app without a row here fails
``test_every_route_is_in_the_matrix``. Another site's administrator gets 403 on every
``/sites/{site}/...`` route of the first site, and denied calls change nothing (the audit
log does not grow).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response

from facegate.privacy.notice_template import starter_notice
from facegate.store import Store, SubjectKind
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.api.gate_helpers import use_pipeline
from tests.api.signin import admin_token, bearer, resident_token
from tests.store.helpers import OPERATOR, consented_subject

ANONYMOUS = "anonymous"
ADMIN = "admin"
OTHER_ADMIN = "other_admin"
RESIDENT = "resident"
DEVICE = "device"
ROLES = (ANONYMOUS, OTHER_ADMIN, RESIDENT, DEVICE, ADMIN)
EVERYONE = frozenset(ROLES)
SESSION = frozenset({ADMIN, OTHER_ADMIN, RESIDENT})
#: Framework routes, not the service's.
#: A child under 14 on any day these tests run.
CHILD_BORN = date.today() - timedelta(days=365 * 6)
UNLISTED = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@dataclass
class Context:
    """The ids the calls use, and what they need to build their bodies."""

    store: Store
    subject_id: str
    resident_id: str
    #: A child under 14, who has guardians.
    minor_id: str
    credential_id: str
    device_id: str
    face_png: bytes

    @property
    def params(self) -> dict[str, str]:
        return {
            "site": SITE,
            "subject_id": self.subject_id,
            "credential_id": self.credential_id,
            "device_id": self.device_id,
            "gate": "main",
        }


Body = Callable[[Context], dict[str, Any]]


@dataclass(frozen=True)
class Call:
    """A route's role(s), how to call it, and the status the allowed role gets."""

    allowed: frozenset[str]
    ok: int = 200
    json: Body | None = None
    form: Body | None = None
    images: str | None = None
    query: str = ""
    #: Path parameters taken from other ``Context`` attributes: parameter → attribute.
    extra: dict[str, str] = field(default_factory=dict)


def _notice(_: Context) -> dict[str, Any]:
    content = json.loads(starter_notice("Sunny Garden", "Sunny Co.", "desk").to_json())
    return {"version": "2026-2", "content": content}


def _resident_code(ctx: Context) -> dict[str, Any]:
    return {
        "site": SITE,
        "code": ctx.store.accounts.issue_signin_code(ctx.resident_id, actor=OPERATOR),
    }


def _kiosk_code(ctx: Context) -> dict[str, Any]:
    return {
        "gate": "main",
        "code": ctx.store.accounts.issue_signin_code(ctx.subject_id, actor=OPERATOR),
    }


def _const(value: dict[str, Any]) -> Body:
    return lambda _: value


ADMIN_ONLY = frozenset({ADMIN})
DEVICE_ONLY = frozenset({DEVICE})
RESIDENT_ONLY = frozenset({RESIDENT})
S = "/api/v1/sites/{site}"
SUBJ = S + "/subjects/{subject_id}"
GATE = {"name": "Main", "accepts_face": True, "accepts_card": True, "accepts_pin": True,
        "accepts_otp": True}  # fmt: skip

#: (method, route path) → its call. Calls run in this order: destructive ones last.
MATRIX: dict[tuple[str, str], Call] = {
    ("GET", "/healthz"): Call(EVERYONE),
    ("GET", "/metrics"): Call(EVERYONE),
    # The pages are shells that sign in through the API: public, holding no data.
    ("GET", "/"): Call(EVERYONE),
    ("GET", "/admin"): Call(EVERYONE),
    ("GET", "/me"): Call(EVERYONE),
    ("GET", "/kiosk"): Call(EVERYONE),
    ("POST", "/api/v1/auth/admin"): Call(
        EVERYONE, json=_const({"username": f"admin@{SITE}", "password": ADMIN_PASSWORD})
    ),
    ("POST", "/api/v1/auth/resident"): Call(EVERYONE, json=_resident_code),
    ("POST", "/api/v1/auth/logout"): Call(SESSION),
    ("POST", "/api/v1/decisions"): Call(
        DEVICE_ONLY, form=_const({"gate": "main", "kind": "card", "secret": "0077665544"})
    ),
    ("POST", "/api/v1/enrollments"): Call(DEVICE_ONLY, form=_kiosk_code, images="images"),
    ("GET", S): Call(ADMIN_ONLY),
    ("GET", S + "/subjects"): Call(ADMIN_ONLY),
    ("POST", S + "/subjects"): Call(
        ADMIN_ONLY, 201, json=_const({"name": "Wang Wu", "kind": "resident", "adult": True})
    ),
    ("GET", SUBJ): Call(ADMIN_ONLY),
    ("GET", SUBJ + "/consents"): Call(ADMIN_ONLY),
    ("POST", SUBJ + "/consents"): Call(
        ADMIN_ONLY, 201, json=_const({"evidence": "scan:form-2", "method": "signature"})
    ),
    ("POST", SUBJ + "/guardians"): Call(
        ADMIN_ONLY,
        201,
        json=_const({"name": "Han Lei", "relation": "parent", "born": "1985-03-01"}),
        extra={"subject_id": "minor_id"},
    ),
    ("GET", SUBJ + "/export"): Call(ADMIN_ONLY),
    ("GET", SUBJ + "/credentials"): Call(ADMIN_ONLY),
    ("POST", SUBJ + "/credentials/card"): Call(
        ADMIN_ONLY, 201, json=_const({"card_number": "0011223344"})
    ),
    ("POST", SUBJ + "/credentials/pin"): Call(ADMIN_ONLY, 201, json=_const({"pin": "690417"})),
    ("POST", SUBJ + "/credentials/otp"): Call(ADMIN_ONLY, 201),
    ("DELETE", S + "/credentials/{credential_id}"): Call(ADMIN_ONLY),
    ("POST", SUBJ + "/signin-codes"): Call(ADMIN_ONLY, 201),
    ("POST", SUBJ + "/enrollments"): Call(ADMIN_ONLY, 201, images="images"),
    ("GET", S + "/notices"): Call(ADMIN_ONLY),
    ("POST", S + "/notices"): Call(ADMIN_ONLY, 201, json=_notice),
    ("GET", S + "/gates"): Call(ADMIN_ONLY),
    ("PUT", S + "/gates/{gate}"): Call(ADMIN_ONLY, json=_const(GATE)),
    ("GET", S + "/devices"): Call(ADMIN_ONLY),
    ("POST", S + "/devices"): Call(ADMIN_ONLY, 201, json=_const({"name": "K2", "gates": ["main"]})),
    ("DELETE", S + "/devices/{device_id}"): Call(ADMIN_ONLY),
    ("GET", S + "/decisions"): Call(ADMIN_ONLY, query="?limit=10"),
    ("POST", S + "/audit/verify"): Call(ADMIN_ONLY),
    ("POST", S + "/retention/run"): Call(ADMIN_ONLY),
    ("PUT", S + "/retention/policy"): Call(
        ADMIN_ONLY, json=_const({"resident_retention_days": 60})
    ),
    ("GET", S + "/compliance"): Call(ADMIN_ONLY),
    ("GET", S + "/assessments"): Call(ADMIN_ONLY),
    ("POST", S + "/assessments"): Call(
        ADMIN_ONLY, 201, json=_const({"assessor": "Zhao", "summary": "Yearly review."})
    ),
    ("GET", "/api/v1/me"): Call(RESIDENT_ONLY),
    ("GET", "/api/v1/me/notice"): Call(RESIDENT_ONLY),
    ("POST", "/api/v1/me/consent"): Call(
        RESIDENT_ONLY, 201, json=_const({"accept": True, "notice_version": "2026-2"})
    ),
    ("GET", "/api/v1/me/export"): Call(RESIDENT_ONLY),
    ("POST", "/api/v1/me/credentials/pin"): Call(
        RESIDENT_ONLY, 201, json=_const({"pin": "730582"})
    ),
    ("POST", "/api/v1/me/credentials/otp"): Call(RESIDENT_ONLY, 201),
    ("POST", "/api/v1/me/consent/withdraw"): Call(RESIDENT_ONLY),
    ("DELETE", "/api/v1/me/face"): Call(RESIDENT_ONLY),
    ("POST", SUBJ + "/consents/withdraw"): Call(ADMIN_ONLY),
    ("POST", SUBJ + "/move-out"): Call(ADMIN_ONLY),
    ("DELETE", SUBJ): Call(ADMIN_ONLY, query="?reason=request"),
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, HEAD aside."""
    routes = set()
    for route in iter_route_contexts(app.routes):
        if route.path is None or route.path in UNLISTED:
            continue
        for method in route.methods or ():
            if method != "HEAD":
                routes.add((method, route.path))
    return routes


def test_every_route_is_in_the_matrix(client: TestClient) -> None:
    served = app_routes(client.app)  # type: ignore[arg-type]
    assert served - MATRIX.keys() == set(), "add these routes to the authorization matrix"
    assert MATRIX.keys() - served == set(), "the matrix names routes the app no longer has"


@pytest.fixture
def context(
    client: TestClient, store: Store, setup: Setup, pipeline: FacePipeline, face_png: bytes
) -> Context:
    use_pipeline(client, pipeline)
    subject = consented_subject(store, SITE)
    resident = store.add_subject(SITE, "Han Meimei", SubjectKind.RESIDENT, actor=OPERATOR)
    minor = store.add_subject(
        SITE, "Han Xiaomei", SubjectKind.RESIDENT, date_of_birth=CHILD_BORN, actor=OPERATOR
    )
    card = store.credentials.issue_card(subject.id, "0099887766", OPERATOR)
    device = store.devices.register(SITE, "Spare kiosk", ["main"], actor=OPERATOR)
    return Context(store, subject.id, resident.id, minor.id, card.id, device.info.id, face_png)


def _headers(client: TestClient, ctx: Context, setup: Setup, role: str) -> dict[str, str]:
    if role == ANONYMOUS:
        return {}
    if role == DEVICE:
        return bearer(setup.device_key)
    if role == RESIDENT:
        return bearer(resident_token(client, ctx.store, SITE, ctx.resident_id))
    user = f"admin@{SITE}" if role == ADMIN else f"admin@{OTHER_SITE}"
    return bearer(admin_token(client, user))


@dataclass(frozen=True)
class Bodies:
    json: dict[str, Any] | None
    form: dict[str, Any] | None

    @classmethod
    def of(cls, call: Call, ctx: Context) -> Bodies:
        """Built before a call (building one may write, e.g. issue a sign-in code)."""
        return cls(
            None if call.json is None else call.json(ctx),
            None if call.form is None else call.form(ctx),
        )


def _call(
    client: TestClient,
    ctx: Context,
    key: tuple[str, str],
    call: Call,
    headers: dict[str, str],
    bodies: Bodies | None = None,
) -> Response:
    method, path = key
    params = ctx.params | {name: getattr(ctx, attr) for name, attr in call.extra.items()}
    url = path.format(**params) + call.query
    bodies = bodies or Bodies.of(call, ctx)
    files = None
    if call.images is not None:
        files = [(call.images, ("face.png", ctx.face_png, "image/png"))]
    response: Response = client.request(
        method, url, headers=headers, json=bodies.json, data=bodies.form, files=files
    )
    client.cookies.clear()
    return response


def _denied_status(role: str, call: Call) -> int:
    """Unknown credentials are 401; known ones of the wrong role or site are 403."""
    if role in (ANONYMOUS, DEVICE) or call.allowed == DEVICE_ONLY:
        return 401
    return 403


def test_each_role_gets_exactly_what_the_matrix_says(
    client: TestClient, context: Context, setup: Setup
) -> None:
    headers = {role: _headers(client, context, setup, role) for role in ROLES}
    problems = []
    for key, call in MATRIX.items():
        bodies = Bodies.of(call, context)
        events = context.store.verify_audit().events_checked
        for role in ROLES:
            if role in call.allowed:
                continue
            response = _call(client, context, key, call, headers[role], bodies)
            want = _denied_status(role, call)
            if response.status_code != want or set(response.json()) != {"error"}:
                problems.append(f"{key} as {role}: {response.status_code}, want {want}")
        after = context.store.verify_audit().events_checked
        if after != events:
            problems.append(f"{key}: denied calls wrote {after - events} audit events")
        for role in ROLES:
            if role not in call.allowed:
                continue
            role_headers = headers[role]
            if key[1] == "/api/v1/auth/logout":
                role_headers = _headers(client, context, setup, role)
            response = _call(client, context, key, call, role_headers)
            if response.status_code != call.ok:
                problems.append(
                    f"{key} as {role}: {response.status_code}, want {call.ok}: {response.text}"
                )
    assert problems == []


def test_another_sites_admin_is_refused_on_every_site_route(
    client: TestClient, context: Context, setup: Setup
) -> None:
    other = _headers(client, context, setup, OTHER_ADMIN)
    site_routes = [key for key in MATRIX if key[1].startswith(S)]
    assert len(site_routes) == 32
    for key in site_routes:
        response = _call(client, context, key, MATRIX[key], other)
        assert response.status_code == 403, key
        assert response.json()["error"]["code"] == "forbidden"
        assert context.subject_id not in response.text
