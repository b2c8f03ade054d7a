"""Every route, every role: who may call it, and that everyone else gets 401 or 403.

Each row names the roles a route serves, as one of the sets below (the table in
``api/routes/admin_scope.py`` says why each route has its role):

- ``ADMIN_ONLY``: the site administrator (deletion, settings, staff accounts);
- ``DESK``: the front desk (operator) or administrator;
- ``READER``: the auditor or administrator (read-only);
- ``STAFF``: any staff member of the site;
- ``RESIDENT_ONLY``, ``DEVICE_ONLY``, ``SESSION`` (anyone signed in), ``EVERYONE``;
- ``OPERATOR_ACCOUNT_ONLY``: a property company's operator account (not a staff role: it
  acts at a site only through the administrator's session it opens there).

Every role in ``ROLES`` calls every route: the allowed ones get the row's status, the
others 401 (no or unknown credentials) or 403 (known, wrong role or site). A route added to
the app without a row here fails ``test_every_route_is_in_the_matrix``. Another site's
administrator, operator and auditor get 403 on every ``/sites/{site}/...`` route of the
first site, and denied calls change nothing (the audit log does not grow).

To add a route: one row, ``(method, path): Call(<role set>, <status>, json=...)``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response

from facegate.privacy.notice_template import starter_notice
from facegate.store import Store, SubjectKind
from facegate.store.accounts import Role
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.api.gate_helpers import use_pipeline
from tests.api.signin import bearer
from tests.store.helpers import OPERATOR, consented_subject

ANONYMOUS = "anonymous"
ADMIN = "admin"
OPERATOR_ROLE = "operator"
AUDITOR = "auditor"
OTHER_ADMIN = "other_admin"
OTHER_OPERATOR = "other_operator"
OTHER_AUDITOR = "other_auditor"
RESIDENT = "resident"
DEVICE = "device"
#: The property company's operator account running this site (``store.operator_accounts``).
OPERATOR_ACCOUNT = "operator_account"
OPERATOR_ACCOUNT_USER = f"ops@{SITE}"
#: Staff of this site, each with its role; the ``other_`` ones are the other site's.
STAFF_ROLES = {
    ADMIN: (SITE, Role.ADMIN),
    OPERATOR_ROLE: (SITE, Role.OPERATOR),
    AUDITOR: (SITE, Role.AUDITOR),
    OTHER_ADMIN: (OTHER_SITE, Role.ADMIN),
    OTHER_OPERATOR: (OTHER_SITE, Role.OPERATOR),
    OTHER_AUDITOR: (OTHER_SITE, Role.AUDITOR),
}
OTHER_SITE_STAFF = (OTHER_ADMIN, OTHER_OPERATOR, OTHER_AUDITOR)
#: The order the calls are made in: a route's allowed roles call it in this order.
ROLES = (
    ANONYMOUS, OTHER_ADMIN, OTHER_OPERATOR, OTHER_AUDITOR, RESIDENT, DEVICE,
    AUDITOR, OPERATOR_ROLE, ADMIN, OPERATOR_ACCOUNT,
)  # fmt: skip
EVERYONE = frozenset(ROLES)
SESSION = frozenset(STAFF_ROLES) | {RESIDENT}
#: A child under 14 on any day these tests run.
CHILD_BORN = date.today() - timedelta(days=365 * 6)
#: Framework routes, not the service's.
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
    #: A spare operator account the staff routes change (not one the calls sign in with).
    staff_id: str

    @property
    def params(self) -> dict[str, str]:
        return {
            "site": SITE,
            "subject_id": self.subject_id,
            "credential_id": self.credential_id,
            "device_id": self.device_id,
            "gate": "main",
            "staff_id": self.staff_id,
        }

    @cached_property
    def pass_id(self) -> str:
        """A visitor pass of the resident's, made on first use."""
        start = datetime.now(UTC)
        issued = self.store.passes.create(
            self.resident_id, ["main"], start, start + timedelta(hours=1), actor=OPERATOR
        )
        return issued.visitor_pass.id

    @cached_property
    def decision_id(self) -> int:
        """A card decision at the site's gate, recorded on first use."""
        return self.store.record_decision(
            SITE, f"device:{self.device_id}", "decision.verify", None, "deny",
            detail={"gate": "main", "kind": "card", "reason": "unknown_credential"},
        )  # fmt: skip


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


def _pass_window(_: Context) -> dict[str, Any]:
    start = datetime.now(UTC)
    return {
        "gates": ["main"],
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(hours=2)).isoformat(),
        "label": "Aunt Li",
    }


def _visitor_pass(ctx: Context) -> dict[str, Any]:
    """No body: makes the resident's pass before the calls, so they write nothing."""
    assert ctx.pass_id
    return {}


_serial = itertools.count(1)


def _card(_: Context) -> dict[str, Any]:
    """A card number no other call has used (each allowed role issues one)."""
    return {"card_number": f"00{next(_serial):08d}"}


def _new_staff(_: Context) -> dict[str, Any]:
    return {"username": f"new-{next(_serial)}@{SITE}", "role": "operator"}


def _decision(ctx: Context) -> dict[str, Any]:
    """No body: records the decision before the calls, so they write nothing."""
    assert ctx.decision_id
    return {}


def _const(value: dict[str, Any]) -> Body:
    return lambda _: value


ADMIN_ONLY = frozenset({ADMIN})
DESK = frozenset({ADMIN, OPERATOR_ROLE})
READER = frozenset({ADMIN, AUDITOR})
STAFF = frozenset({ADMIN, OPERATOR_ROLE, AUDITOR})
DEVICE_ONLY = frozenset({DEVICE})
RESIDENT_ONLY = frozenset({RESIDENT})
OPERATOR_ACCOUNT_ONLY = frozenset({OPERATOR_ACCOUNT})
#: Routes that end the session they are called with: each allowed call signs in afresh.
SIGN_OUTS = {"/api/v1/auth/logout", "/api/v1/operator-account/logout"}
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
    ("GET", "/me/export"): Call(EVERYONE),
    ("GET", "/kiosk"): Call(EVERYONE),
    ("POST", "/api/v1/auth/admin"): Call(
        EVERYONE, json=_const({"username": f"admin@{SITE}", "password": ADMIN_PASSWORD})
    ),
    ("POST", "/api/v1/auth/resident"): Call(EVERYONE, json=_resident_code),
    ("POST", "/api/v1/auth/logout"): Call(SESSION),
    ("GET", "/api/v1/auth/session"): Call(SESSION),
    ("POST", "/api/v1/decisions"): Call(
        DEVICE_ONLY, form=_const({"gate": "main", "kind": "card", "secret": "0077665544"})
    ),
    ("POST", "/api/v1/enrollments"): Call(DEVICE_ONLY, form=_kiosk_code, images="images"),
    ("GET", S): Call(STAFF),
    ("GET", S + "/subjects"): Call(DESK),
    ("GET", S + "/subjects/search"): Call(DESK, query="?q=Han&page=1&per_page=20"),
    ("GET", S + "/subjects.csv"): Call(ADMIN_ONLY),
    # A PNG is no CSV: the dry run answers 200 with the file's problem, importing nothing.
    ("POST", S + "/subjects/import"): Call(DESK, images="file", query="?dry_run=true"),
    ("POST", S + "/subjects"): Call(
        DESK, 201, json=_const({"name": "Wang Wu", "kind": "resident", "adult": True})
    ),
    ("GET", SUBJ): Call(DESK),
    ("GET", SUBJ + "/consents"): Call(DESK),
    ("POST", SUBJ + "/consents"): Call(
        DESK, 201, json=_const({"evidence": "scan:form-2", "method": "signature"})
    ),
    ("POST", SUBJ + "/guardians"): Call(
        DESK,
        201,
        json=_const({"name": "Han Lei", "relation": "parent", "born": "1985-03-01"}),
        extra={"subject_id": "minor_id"},
    ),
    ("GET", SUBJ + "/guardians"): Call(DESK, extra={"subject_id": "minor_id"}),
    ("GET", SUBJ + "/export"): Call(DESK),
    ("GET", SUBJ + "/credentials"): Call(DESK),
    ("POST", SUBJ + "/credentials/card"): Call(DESK, 201, json=_card),
    ("POST", SUBJ + "/credentials/pin"): Call(DESK, 201, json=_const({"pin": "690417"})),
    ("POST", SUBJ + "/credentials/otp"): Call(DESK, 201),
    ("DELETE", S + "/credentials/{credential_id}"): Call(DESK),
    ("POST", SUBJ + "/signin-codes"): Call(DESK, 201),
    ("POST", SUBJ + "/enrollments"): Call(DESK, 201, images="images"),
    ("POST", S + "/recognition-tests"): Call(DESK, form=_const({"gate": "main"}), images="image"),
    ("GET", S + "/notices"): Call(STAFF),
    ("POST", S + "/notices"): Call(ADMIN_ONLY, 201, json=_notice),
    ("GET", S + "/gates"): Call(STAFF),
    ("PUT", S + "/gates/{gate}"): Call(ADMIN_ONLY, json=_const(GATE)),
    ("GET", S + "/gates/{gate}/schedule"): Call(STAFF),
    ("PUT", S + "/gates/{gate}/schedule"): Call(ADMIN_ONLY, json=_const({"windows": []})),
    ("GET", S + "/devices"): Call(ADMIN_ONLY),
    ("POST", S + "/devices"): Call(ADMIN_ONLY, 201, json=_const({"name": "K2", "gates": ["main"]})),
    ("DELETE", S + "/devices/{device_id}"): Call(ADMIN_ONLY),
    ("GET", S + "/decisions"): Call(READER, query="?limit=10"),
    ("GET", S + "/decisions/log"): Call(READER, query="?limit=10&kind=card"),
    # Why a decision went as it did: the log's readers only; a device or resident never.
    ("GET", S + "/decisions/{decision_id}/explanation"): Call(
        READER, json=_decision, extra={"decision_id": "decision_id"}
    ),
    ("GET", S + "/decisions.csv"): Call(
        READER, query="?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z"
    ),
    # The stream runs a second, then ends (the test client waits for its end).
    ("GET", S + "/decisions/stream"): Call(READER, query="?max_seconds=1"),
    ("POST", S + "/gates/{gate}/open"): Call(ADMIN_ONLY, 201, json=_const({"why": "maintenance"})),
    ("POST", S + "/audit/verify"): Call(READER),
    ("POST", S + "/retention/run"): Call(ADMIN_ONLY),
    ("PUT", S + "/retention/policy"): Call(
        ADMIN_ONLY, json=_const({"resident_retention_days": 60})
    ),
    ("GET", S + "/compliance"): Call(READER),
    ("GET", S + "/assessments"): Call(READER),
    ("POST", S + "/assessments"): Call(
        ADMIN_ONLY, 201, json=_const({"assessor": "Zhao", "summary": "Yearly review."})
    ),
    ("GET", S + "/staff"): Call(ADMIN_ONLY),
    ("POST", S + "/staff"): Call(ADMIN_ONLY, 201, json=_new_staff),
    ("POST", S + "/staff/{staff_id}"): Call(ADMIN_ONLY, json=_const({"role": "auditor"})),
    ("POST", S + "/staff/{staff_id}/password"): Call(ADMIN_ONLY, json=_const({})),
    ("POST", "/api/v1/operator-account/auth"): Call(
        EVERYONE, json=_const({"username": OPERATOR_ACCOUNT_USER, "password": ADMIN_PASSWORD})
    ),
    ("GET", "/api/v1/operator-account/sites"): Call(OPERATOR_ACCOUNT_ONLY),
    ("POST", "/api/v1/operator-account/sites/{site}/session"): Call(OPERATOR_ACCOUNT_ONLY, 201),
    ("POST", "/api/v1/operator-account/logout"): Call(OPERATOR_ACCOUNT_ONLY),
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
    ("GET", "/api/v1/me/passes"): Call(RESIDENT_ONLY),
    ("GET", "/api/v1/me/passes/gates"): Call(RESIDENT_ONLY),
    ("POST", "/api/v1/me/passes"): Call(RESIDENT_ONLY, 201, json=_pass_window),
    ("POST", "/api/v1/me/passes/{pass_id}/revoke"): Call(
        RESIDENT_ONLY, json=_visitor_pass, extra={"pass_id": "pass_id"}
    ),
    ("POST", "/api/v1/me/consent/withdraw"): Call(RESIDENT_ONLY),
    ("DELETE", "/api/v1/me/face"): Call(RESIDENT_ONLY),
    ("POST", SUBJ + "/consents/withdraw"): Call(DESK),
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
    for name, (site, role) in STAFF_ROLES.items():
        if role is not Role.ADMIN:
            store.accounts.create_admin(
                site, f"{name}@{site}", ADMIN_PASSWORD, actor=OPERATOR, role=role
            )
    spare = store.accounts.create_admin(
        SITE, f"spare@{SITE}", ADMIN_PASSWORD, actor=OPERATOR, role=Role.OPERATOR
    )
    # The site runs under its own name (``create_site``'s default organisation).
    store.operator_accounts.create(
        store.get_site(SITE).name, OPERATOR_ACCOUNT_USER, ADMIN_PASSWORD, actor=OPERATOR
    )
    return Context(
        store, subject.id, resident.id, minor.id, card.id, device.info.id, face_png, spare.id
    )


def _headers(client: TestClient, ctx: Context, setup: Setup, role: str) -> dict[str, str]:
    """Each role's credentials, signed in through the store: the sign-in routes' rate
    limit is for the calls of those routes' own rows."""
    if role == ANONYMOUS:
        return {}
    if role == DEVICE:
        return bearer(setup.device_key)
    if role == RESIDENT:
        code = ctx.store.accounts.issue_signin_code(ctx.resident_id, actor=OPERATOR)
        return bearer(ctx.store.accounts.sign_in_resident(SITE, code).token)
    if role == OPERATOR_ACCOUNT:
        opened = ctx.store.operator_accounts.sign_in(OPERATOR_ACCOUNT_USER, ADMIN_PASSWORD)
        return bearer(opened.token)
    site, staff_role = STAFF_ROLES[role]
    user = f"admin@{site}" if staff_role is Role.ADMIN else f"{role}@{site}"
    return bearer(ctx.store.accounts.sign_in_admin(user, ADMIN_PASSWORD).token)


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
            if key[1] in SIGN_OUTS:
                role_headers = _headers(client, context, setup, role)
            response = _call(client, context, key, call, role_headers)
            if response.status_code != call.ok:
                problems.append(
                    f"{key} as {role}: {response.status_code}, want {call.ok}: {response.text}"
                )
    assert problems == []


@pytest.mark.parametrize("role", OTHER_SITE_STAFF)
def test_another_sites_staff_is_refused_on_every_site_route(
    client: TestClient, context: Context, setup: Setup, role: str
) -> None:
    other = _headers(client, context, setup, role)
    site_routes = [key for key in MATRIX if key[1].startswith(S)]
    # At least the site routes of December's console (other routes may join).
    assert len(site_routes) >= 46
    for key in site_routes:
        response = _call(client, context, key, MATRIX[key], other)
        assert response.status_code == 403, key
        assert response.json()["error"]["code"] == "forbidden"
        assert context.subject_id not in response.text
