"""The access log a manager reads: names not ids, filters, paging, the CSV export (audited,
UTF-8 with a BOM, in the page's language, never a score)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from facegate.store import Store, decision_log
from facegate.store.audit import AuditAction
from facegate.store.records import DeletionReason
from facegate.store.schema import AuditEvent
from tests.api.conftest import OTHER_SITE, SITE, Setup
from tests.api.gate_helpers import decide
from tests.api.signin import admin_token, bearer
from tests.store.helpers import OPERATOR, consented_subject

API = f"/api/v1/sites/{SITE}"
CARD = "04A1B2C3"
#: Words that would betray a score in a log row or export.
SCORE_WORDS = ("score", "distance", "similarity", "threshold")


def _three_decisions(client: TestClient, store: Store, setup: Setup) -> str:
    """An opened card (Wang Fang), an unknown card, a wrong PIN; returns Wang Fang's id."""
    subject = consented_subject(store, SITE, name="Wang Fang")
    store.credentials.issue_card(subject.id, CARD, actor=OPERATOR)
    assert decide(client, setup.device_key, "card", secret=CARD).json()["outcome"] == "open"
    assert decide(client, setup.device_key, "card", secret="0BADCAFE").json()["outcome"] == "deny"
    decide(client, setup.device_key, "pin", secret="9999", resident_number="123456")
    return subject.id


def _exports(store: Store) -> list[AuditEvent]:
    with store.reading() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == AuditAction.DECISIONS_EXPORTED.value)
                .order_by(AuditEvent.id)
            )
        )


def _log(client: TestClient, token: str, query: str = "") -> dict:  # type: ignore[type-arg]
    response = client.get(f"{API}/decisions/log{query}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


@pytest.mark.rule("R-27")
def test_rows_carry_names_and_never_a_score(client: TestClient, store: Store, setup: Setup) -> None:
    subject_id = _three_decisions(client, store, setup)
    token = admin_token(client, setup.admin_user)
    page = _log(client, token)
    assert page["total"] == 3
    newest, unknown, opened = page["items"]
    assert opened["person"] == "Wang Fang"
    assert opened["person_state"] == "known"
    assert opened["subject_id"] == subject_id
    assert (opened["gate_name"], opened["device_name"]) == ("Main gate", "Kiosk 1")
    assert (opened["kind"], opened["outcome"], opened["reason"]) == ("card", "open", "ok")
    assert unknown["person"] is None
    assert unknown["person_state"] == "unknown"
    assert newest["kind"] == "pin"
    assert newest["person_state"] == "unknown"
    for row in page["items"]:
        assert not any(word in key for key in row for word in SCORE_WORDS)


def test_filters_combine_and_pages_count_every_match(
    client: TestClient, store: Store, setup: Setup
) -> None:
    _three_decisions(client, store, setup)
    token = admin_token(client, setup.admin_user)
    assert _log(client, token, "?outcome=open")["total"] == 1
    assert _log(client, token, "?kind=card")["total"] == 2
    assert _log(client, token, "?kind=card&outcome=deny")["total"] == 1
    assert _log(client, token, "?person=wang")["items"][0]["person"] == "Wang Fang"
    assert _log(client, token, "?person=Li%20Si")["total"] == 0
    assert _log(client, token, "?gate=main")["total"] == 3
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _log(client, token, f"?from={future}")["total"] == 0
    assert _log(client, token, f"?to={future}")["total"] == 3
    first = _log(client, token, "?limit=2")
    second = _log(client, token, "?limit=2&offset=2")
    assert (len(first["items"]), len(second["items"]), second["total"]) == (2, 1, 3)
    assert {r["id"] for r in first["items"]}.isdisjoint(r["id"] for r in second["items"])


def test_a_range_that_ends_first_and_an_unknown_gate_are_refused(
    client: TestClient, setup: Setup
) -> None:
    token = admin_token(client, setup.admin_user)
    backwards = client.get(
        f"{API}/decisions/log?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        headers=bearer(token),
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"]["reason"] == "log_range"
    unknown = client.get(f"{API}/decisions/log?gate=back-door", headers=bearer(token))
    assert unknown.status_code == 404
    # A time with no UTC equivalent is refused in words, not a 500.
    for moment in ("0001-01-01T00:00:00%2B05:00", "9999-12-31T23:59:59-05:00"):
        edge = client.get(f"{API}/decisions/log?from={moment}", headers=bearer(token))
        assert edge.status_code == 422, edge.text
        assert edge.json()["error"]["reason"] == "log_range"


def test_another_sites_decisions_are_not_in_the_log(
    client: TestClient, store: Store, setup: Setup
) -> None:
    _three_decisions(client, store, setup)
    other = admin_token(client, f"admin@{OTHER_SITE}")
    assert _log_of(client, other, OTHER_SITE)["total"] == 0
    assert client.get(f"{API}/decisions/log", headers=bearer(other)).status_code == 403


def _log_of(client: TestClient, token: str, site: str) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/api/v1/sites/{site}/decisions/log", headers=bearer(token))
    assert response.status_code == 200
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def _export(client: TestClient, token: str, lang: str = "zh") -> tuple[int, str]:
    start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    end = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    response = client.get(
        f"{API}/decisions.csv?from={start}&to={end}&tz=480&lang={lang}", headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return response.status_code, response.content.decode("utf-8")


@pytest.mark.rule("R-27")
def test_the_csv_is_audited_readable_and_has_no_scores(
    client: TestClient, store: Store, setup: Setup
) -> None:
    _three_decisions(client, store, setup)
    token = admin_token(client, setup.admin_user)
    before = len(_exports(store))
    _, text = _export(client, token)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    header, *body = rows
    assert header[0].startswith("时间")
    assert "人员" in header
    assert len(body) == 3
    opened = body[0]  # oldest first
    assert opened[1:6] == ["Main gate", "Kiosk 1", "Wang Fang", "门禁卡", "已开门"]
    assert body[1][3] == "未知人员"
    assert not any(word in text.lower() for word in SCORE_WORDS)
    exports = _exports(store)
    assert len(exports) == before + 1
    assert json.loads(exports[-1].detail)["rows"] == 3
    assert exports[-1].actor.startswith("admin:")
    _, english = _export(client, token, "en")
    assert "Card" in english
    assert "Unknown person" in english


def test_the_csv_needs_a_range_of_at_most_a_year(client: TestClient, setup: Setup) -> None:
    token = admin_token(client, setup.admin_user)
    assert client.get(f"{API}/decisions.csv", headers=bearer(token)).status_code == 422
    long = client.get(
        f"{API}/decisions.csv?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        headers=bearer(token),
    )
    assert long.status_code == 422
    assert long.json()["error"]["reason"] == "log_range_long"


def test_a_deleted_resident_reads_as_deleted(
    client: TestClient, store: Store, setup: Setup
) -> None:
    subject_id = _three_decisions(client, store, setup)
    store.delete_subject(subject_id, DeletionReason.REQUEST, actor=OPERATOR)
    token = admin_token(client, setup.admin_user)
    oldest = _log(client, token)["items"][-1]
    assert oldest["person"] is None
    assert oldest["person_state"] == "deleted"


def test_an_export_over_the_row_limit_is_refused_not_cut(
    client: TestClient, store: Store, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_decisions(client, store, setup)
    monkeypatch.setattr(decision_log, "MAX_EXPORT_ROWS", 2)
    token = admin_token(client, setup.admin_user)
    start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    end = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    response = client.get(f"{API}/decisions.csv?from={start}&to={end}", headers=bearer(token))
    assert response.status_code == 422
    assert response.json()["error"]["reason"] == "log_export_too_many"
    assert _exports(store) == []  # a refused export is not an export


def test_a_visitor_pass_reads_as_the_residents_visitor(
    client: TestClient, store: Store, setup: Setup
) -> None:
    host = consented_subject(store, SITE, name="Wang Fang")
    now = datetime.now(UTC)
    issued = store.passes.create(
        host.id, ["main"], now - timedelta(minutes=1), now + timedelta(hours=2), actor=OPERATOR
    )
    decided = decide(client, setup.device_key, "otp", secret=issued.code).json()
    assert decided["outcome"] == "open"
    token = admin_token(client, setup.admin_user)
    row = _log(client, token)["items"][0]
    assert (row["person"], row["person_state"]) == ("Wang Fang", "visitor")
    _, text = _export(client, token)
    assert "Wang Fang 的访客" in text


def test_a_name_a_spreadsheet_would_run_is_exported_quoted(
    client: TestClient, store: Store, setup: Setup
) -> None:
    """A front-desk operator types the names; the auditor opens the export on their own
    computer: a formula in a name must arrive as text."""
    formula = '=HYPERLINK("http://evil.example","x")'
    subject = consented_subject(store, SITE, name=formula)
    store.credentials.issue_card(subject.id, CARD, actor=OPERATOR)
    assert decide(client, setup.device_key, "card", secret=CARD).json()["outcome"] == "open"
    _, text = _export(client, admin_token(client, setup.admin_user))
    (row,) = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))[1:]
    assert row[3] == "'" + formula
