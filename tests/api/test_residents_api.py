"""The residents API: homes on registration, search and paging, CSV import and export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from facegate.store import Store
from facegate.store.accounts import Role
from tests.api.conftest import ADMIN_PASSWORD, SITE, Setup
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import OPERATOR

SITE_API = f"{API}/sites/{SITE}"
CHILD_BORN = (date.today() - timedelta(days=365 * 6)).isoformat()


@pytest.fixture
def admin(client: TestClient, setup: Setup) -> dict[str, str]:
    return bearer(admin_token(client, setup.admin_user))


def _import(
    client: TestClient, admin: dict[str, str], text: str, *, dry_run: bool
) -> tuple[int, dict[str, object]]:
    response = client.post(
        f"{SITE_API}/subjects/import?dry_run={str(dry_run).lower()}",
        files={"file": ("residents.csv", text.encode("utf-8"), "text/csv")},
        headers=admin,
    )
    body: dict[str, object] = response.json()
    return response.status_code, body


def test_a_resident_is_registered_with_a_home(client: TestClient, admin: dict[str, str]) -> None:
    made = client.post(
        f"{SITE_API}/subjects",
        json={
            "name": "王芳",
            "kind": "resident",
            "adult": True,
            "building": "12",
            "unit": "3",
            "household": "1202",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    got = client.get(f"{SITE_API}/subjects/{made.json()['id']}", headers=admin).json()
    assert (got["building"], got["unit"], got["household"]) == ("12", "3", "1202")
    too_long = client.post(
        f"{SITE_API}/subjects",
        json={"name": "李雷", "kind": "resident", "adult": True, "household": "x" * 33},
        headers=admin,
    )
    assert too_long.status_code == 422
    assert too_long.json()["error"]["problems"][0]["where"].endswith("household")
    control = client.post(
        f"{SITE_API}/subjects",
        json={"name": "李雷", "kind": "resident", "adult": True, "unit": "3\x1b"},
        headers=admin,
    )
    assert control.status_code == 422
    assert control.json()["error"]["reason"] == "control_characters"


def test_search_pages_and_filters(client: TestClient, admin: dict[str, str]) -> None:
    lines = ["name,building,unit,household,born"]
    lines += [
        f"住户{i:02d},{i % 4 + 1},1,{100 + i},{CHILD_BORN if i < 3 else ''}" for i in range(30)
    ]
    status, report = _import(client, admin, "\n".join(lines), dry_run=False)
    assert (status, report["imported"]) == (200, 30)
    page = client.get(f"{SITE_API}/subjects/search?per_page=20&page=2", headers=admin).json()
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (30, 2, 20, 10)
    found = client.get(
        f"{SITE_API}/subjects/search", params={"q": "住户2", "building": "2"}, headers=admin
    ).json()
    assert [item["name"] for item in found["items"]] == ["住户21", "住户25", "住户29"]
    children = client.get(f"{SITE_API}/subjects/search?status=child", headers=admin).json()
    assert children["total"] == 3
    assert all(item["minor"] for item in children["items"])
    bad = client.get(f"{SITE_API}/subjects/search?per_page=500", headers=admin)
    assert bad.status_code == 422


def test_a_moved_out_resident_lists_the_erasure_date(
    client: TestClient, admin: dict[str, str]
) -> None:
    made = client.post(
        f"{SITE_API}/subjects", json={"name": "赵敏", "kind": "resident", "adult": True},
        headers=admin,
    ).json()  # fmt: skip
    moved = client.post(f"{SITE_API}/subjects/{made['id']}/move-out", headers=admin).json()
    item = client.get(f"{SITE_API}/subjects/search?status=moved_out", headers=admin).json()[
        "items"
    ][0]
    assert item["moved_out_at"] == moved["moved_out_at"]
    assert date.fromisoformat(item["erase_after"][:10]) - date.fromisoformat(
        item["moved_out_at"][:10]
    ) == timedelta(days=30)


def test_a_bad_file_is_reported_and_refused(client: TestClient, admin: dict[str, str]) -> None:
    text = "name,kind,household\n张三,resident,101\n,resident,102\n李四,martian,103\n"
    text += "张三,resident,101\n"
    status, report = _import(client, admin, text, dry_run=True)
    assert status == 200
    assert report["problems"] == [
        {"line": 3, "column": "name", "reason": "required", "other_line": None},
        {"line": 4, "column": "kind", "reason": "bad_kind", "other_line": None},
        {"line": 5, "column": None, "reason": "duplicate_row", "other_line": 2},
    ]
    status, refused = _import(client, admin, text, dry_run=False)
    error = refused["error"]
    assert isinstance(error, dict)
    assert (status, error["code"], error["rows"]) == (422, "import_refused", 4)
    assert [p["line"] for p in error["problems"]] == [3, 4, 5]
    listed = client.get(f"{SITE_API}/subjects/search", headers=admin).json()
    assert listed["total"] == 0


def test_export_is_a_csv_download(client: TestClient, admin: dict[str, str]) -> None:
    status, _ = _import(client, admin, "name,building\n王五,7\n", dry_run=False)
    assert status == 200
    response = client.get(f"{SITE_API}/subjects.csv", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="residents-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["name"], r["building"], r["status"]) for r in rows] == [("王五", "7", "active")]


def test_a_repeated_import_with_one_key_is_done_once(
    client: TestClient, admin: dict[str, str]
) -> None:
    files = {"file": ("residents.csv", "name,household\n王五,101\n赵六,102\n".encode(), "text/csv")}
    headers = {**admin, "Idempotency-Key": "import-residents-1"}
    url = f"{SITE_API}/subjects/import?dry_run=false"
    first = client.post(url, files=files, headers=headers)
    again = client.post(url, files=files, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    listed = client.get(f"{SITE_API}/subjects/search", headers=admin).json()
    assert listed["total"] == 2


def test_the_front_desk_searches_and_imports_but_does_not_export(
    client: TestClient, store: Store, setup: Setup
) -> None:
    store.accounts.create_admin(
        SITE, f"desk@{SITE}", ADMIN_PASSWORD, actor=OPERATOR, role=Role.OPERATOR
    )
    desk = bearer(admin_token(client, f"desk@{SITE}"))
    status, report = _import(client, desk, "name\n孙七\n", dry_run=False)
    assert (status, report["imported"]) == (200, 1)
    assert client.get(f"{SITE_API}/subjects/search", headers=desk).json()["total"] == 1
    refused = client.get(f"{SITE_API}/subjects.csv", headers=desk)
    assert refused.status_code == 403


def test_a_childs_guardians_are_listed(client: TestClient, admin: dict[str, str]) -> None:
    child = client.post(
        f"{SITE_API}/subjects", json={"name": "王小明", "kind": "resident", "born": CHILD_BORN},
        headers=admin,
    ).json()  # fmt: skip
    path = f"{SITE_API}/subjects/{child['id']}/guardians"
    assert client.get(path, headers=admin).json() == []
    made = client.post(
        path, json={"name": "王建国", "relation": "parent", "born": "1985-03-01"}, headers=admin
    ).json()
    listed = client.get(path, headers=admin).json()
    assert [(g["id"], g["name"], g["relation"]) for g in listed] == [
        (made["id"], "王建国", "parent")
    ]
