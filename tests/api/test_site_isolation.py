"""One site's people can reach nothing of another site's (issue 16; R-22: a community's
data stays with it), on SQLite and on PostgreSQL.

Site A (``SITE``) is run by one company, site B (``OTHER_SITE``) by another. Every route of
the app that takes a site code or an id in its path, found by walking the app's routes (a
new route cannot be forgotten; a new kind of path parameter fails until this test knows
B's value for it), is called by each of A's principals:

- A's site administrator;
- A's company's operator account (its own token);
- the administrator's session that operator account opened at A;

once with B's site code and B's ids, and once with A's site code and B's ids (no body, or
a valid one from ``BODIES`` where the route reads it first). Every call answers 403 or
404, its body holds nothing of B that the caller did not send (B's name, internal id,
people, staff, devices, company), and no call writes anything (the audit log does not
grow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from facegate.core.config import Environment, Settings
from facegate.store import Store, SubjectKind
from facegate.store.accounts import Role
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.api.signin import bearer
from tests.store.helpers import MODEL, OPERATOR, consented_subject, random_embeddings

SQLITE, POSTGRESQL = "sqlite", "postgresql"
COMPANY_A, COMPANY_B = "Sunny Property Co.", "Moon Estates Ltd."
OPS_USER = "ops@sunny"
OPS_PASSWORD = "a long operator passphrase"
#: Names of B's that must never show up in an answer to A.
B_SUBJECT, B_RESIDENT = "Qian Secret", "Sun Hidden"
B_DEVICE, B_STAFF = "Moon kiosk 7", "moon-desk@north-gate"
#: Framework routes, not the service's.
UNLISTED = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
#: Path parameters that name one record of a site (not the site or a gate's own code).
ID_PARAMS = {"subject_id", "credential_id", "device_id", "staff_id", "decision_id", "pass_id"}
DENIED = {403, 404}
#: A valid body for the routes that read their body before they look the id up (an empty
#: one answers 422): the refusal must come with a request that would otherwise succeed.
BODIES = {("POST", "/api/v1/sites/{site}/staff/{staff_id}"): {"role": "auditor"}}
_PARAM = re.compile(r"{(\w+)}")


@pytest.fixture(params=[SQLITE, POSTGRESQL])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite in the data dir) or a fresh PostgreSQL database (skips without one)."""
    if request.param == SQLITE:
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", env=Environment.DEVELOPMENT, database_url=database_url
    )


@dataclass(frozen=True)
class SiteB:
    """B's path values, and what of B an answer must not hold."""

    params: dict[str, str]
    secrets: tuple[str, ...]


@pytest.fixture
def site_b(store: Store, setup: Setup) -> SiteB:
    store.operator_accounts.assign_site(SITE, COMPANY_A, actor=OPERATOR)
    store.operator_accounts.assign_site(OTHER_SITE, COMPANY_B, actor=OPERATOR)
    subject = consented_subject(store, site_code=OTHER_SITE, name=B_SUBJECT)
    store.enroll(subject.id, random_embeddings(2, 7), MODEL, [0.9, 0.9], OPERATOR)
    resident = store.add_subject(OTHER_SITE, B_RESIDENT, SubjectKind.RESIDENT, actor=OPERATOR)
    card = store.credentials.issue_card(subject.id, "0012345678", OPERATOR)
    device = store.devices.register(OTHER_SITE, B_DEVICE, ["main"], actor=OPERATOR)
    staff = store.accounts.create_admin(
        OTHER_SITE, B_STAFF, ADMIN_PASSWORD, actor=OPERATOR, role=Role.OPERATOR
    )
    start = datetime.now(UTC)
    issued = store.passes.create(
        resident.id, ["main"], start, start + timedelta(hours=1), actor=OPERATOR
    )
    decision = store.record_decision(
        OTHER_SITE, f"device:{device.info.id}", "decision.verify", subject.id, "allow",
        detail={"gate": "main", "kind": "card", "reason": "matched"},
    )  # fmt: skip
    params = {
        "site": OTHER_SITE,
        "gate": "main",
        "subject_id": subject.id,
        "credential_id": card.id,
        "device_id": device.info.id,
        "staff_id": staff.id,
        "decision_id": str(decision),
        "pass_id": issued.visitor_pass.id,
    }
    other = store.get_site(OTHER_SITE)
    secrets = (other.name, other.id, COMPANY_B, B_SUBJECT, B_RESIDENT, B_DEVICE, B_STAFF)
    return SiteB(params, secrets)


@pytest.fixture
def callers(store: Store, setup: Setup) -> dict[str, dict[str, str]]:
    """A's principals, each as the headers it presents."""
    account = store.operator_accounts.create(COMPANY_A, OPS_USER, OPS_PASSWORD, actor=OPERATOR)
    own = store.operator_accounts.sign_in(OPS_USER, OPS_PASSWORD)
    site_session = store.operator_accounts.open_site_session(account.id, SITE)
    admin = store.accounts.sign_in_admin(setup.admin_user, ADMIN_PASSWORD)
    return {
        "A's administrator": bearer(admin.token),
        "A's operator account": bearer(own.token),
        "A's operator account's admin session at A": bearer(site_session.token),
    }


def _routes_with_path_params(app: FastAPI) -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        if route.path is None or route.path in UNLISTED or not _PARAM.search(route.path):
            continue
        found.update((m, route.path) for m in route.methods or () if m != "HEAD")
    return sorted(found)


@pytest.mark.rule("R-22")
def test_nothing_of_another_site_is_reached(
    client: TestClient,
    store: Store,
    site_b: SiteB,
    callers: dict[str, dict[str, str]],
) -> None:
    routes = _routes_with_path_params(client.app)  # type: ignore[arg-type]
    # December's site routes and more: the walk must not come back (nearly) empty.
    assert len(routes) >= 45
    unknown = {p for _, path in routes for p in _PARAM.findall(path)} - site_b.params.keys()
    assert unknown == set(), "teach this test site B's value for these path parameters"
    events = store.verify_audit().events_checked
    problems = []
    calls = with_a_code = 0
    for method, path in routes:
        urls = [path.format(**site_b.params)]
        if ID_PARAMS & set(_PARAM.findall(path)):
            urls.append(path.format(**(site_b.params | {"site": SITE})))
            with_a_code += 1
        for url in urls:
            for caller, headers in callers.items():
                body = BODIES.get((method, path))
                response = client.request(method, url, headers=headers, json=body)
                client.cookies.clear()
                calls += 1
                if response.status_code not in DENIED:
                    problems.append(f"{method} {url} as {caller}: {response.status_code}")
                leaked = [s for s in site_b.secrets if s in response.text]
                if leaked:
                    problems.append(f"{method} {url} as {caller} shows {leaked}")
    assert problems == []
    # Every route with B's code, and the routes naming a record with A's code too.
    assert with_a_code >= 15
    assert calls == (len(routes) + with_a_code) * len(callers)
    assert store.verify_audit().events_checked == events, "a denied call wrote to the log"
    # B's records are all still there.
    assert store.get_subject(site_b.params["subject_id"]).display_name == B_SUBJECT
