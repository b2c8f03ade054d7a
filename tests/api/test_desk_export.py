"""A resident's access request answered at the front desk holds what /me/export holds,
their visitor passes included (never a pass's code)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from facegate.store import Store, SubjectKind
from facegate.store.schema import utcnow
from tests.api.conftest import SITE, Setup
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import OPERATOR


@pytest.mark.rule("R-32")
def test_the_desk_export_lists_the_visitor_passes(
    client: TestClient, store: Store, setup: Setup
) -> None:
    resident = store.add_subject(SITE, "Han Meimei", SubjectKind.RESIDENT, actor=OPERATOR)
    start = utcnow()
    issued = store.passes.create(
        resident.id, ["main"], start, start + timedelta(hours=2), label="Aunt Li", actor=OPERATOR
    )
    token = admin_token(client, setup.admin_user)
    response = client.get(
        f"{API}/sites/{SITE}/subjects/{resident.id}/export", headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    (visit,) = response.json()["visitor_passes"]
    assert visit["id"] == issued.visitor_pass.id
    assert visit["label"] == "Aunt Li"
    assert issued.code not in response.text
