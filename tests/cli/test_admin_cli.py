"""``facegate admin reset-password``: back into the console, audited, sessions ended; and a
second ``facegate serve --demo`` says how."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from facegate.cli.main import main
from facegate.core.config import Environment, Settings
from facegate.demo_service import DEMO_ADMIN
from facegate.errors import AuthenticationError, InvalidRecordError, NotFoundError
from facegate.store import AuditAction, Store
from facegate.store.accounts import MAX_ADMIN_FAILURES, Role
from facegate.store.schema import AuditEvent

from ..store.helpers import OPERATOR, SITE_CODE, ready_site

USER = "desk@sunny"
OLD_PASSWORD = "old front desk password"
NEW_PASSWORD = "a brand new password 42"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["--json", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)


@pytest.fixture
def signed_in(data_dir: Path) -> str:
    """An operator account that is signed in and locked out; the session's token."""
    with Store.open(_settings(data_dir)) as store:
        ready_site(store)
        store.accounts.create_admin(
            SITE_CODE, USER, OLD_PASSWORD, actor=OPERATOR, role=Role.OPERATOR
        )
        token = store.accounts.sign_in_admin(USER, OLD_PASSWORD).token
        for _ in range(MAX_ADMIN_FAILURES):
            with pytest.raises(AuthenticationError):
                store.accounts.sign_in_admin(USER, "wrong password")
    return token


def _last_reset(store: Store) -> tuple[str, dict[str, Any]]:
    with store.reading() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == AuditAction.ADMIN_CREATED.value)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None
        return event.actor, json.loads(event.detail)


@pytest.mark.rule("R-27")
def test_reset_password_prints_a_new_one_ends_sessions_and_is_audited(
    capsys: pytest.CaptureFixture[str], data_dir: Path, signed_in: str
) -> None:
    code, body = run(capsys, "admin", "reset-password", "--site", SITE_CODE, "--username", USER)
    assert code == 0, body
    assert (body["username"], body["site"], body["role"]) == (USER, SITE_CODE, "operator")
    password = body["password"]
    assert isinstance(password, str)
    assert len(password) >= 12
    with Store.open(_settings(data_dir)) as store:
        with pytest.raises(AuthenticationError):
            store.accounts.session(signed_in)
        # The lock-out is lifted: the new password opens a session at once.
        assert store.accounts.sign_in_admin(USER, password).info.role is Role.OPERATOR
        with pytest.raises(AuthenticationError):
            store.accounts.sign_in_admin(USER, OLD_PASSWORD)
        actor, detail = _last_reset(store)
        assert actor == "cli"
        assert detail["password_reset"] is True
        assert detail["sessions_ended"] == 1
        assert password not in json.dumps(detail)


def test_reset_password_reads_the_password_from_stdin(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    signed_in: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
    code, body = run(
        capsys, "admin", "reset-password", "--site", SITE_CODE, "--username", USER,
        "--password-stdin",
    )  # fmt: skip
    assert code == 0, body
    assert body["password"] is None
    with Store.open(_settings(data_dir)) as store:
        assert store.accounts.sign_in_admin(USER, NEW_PASSWORD).info.site_code == SITE_CODE


def test_reset_password_refuses_a_weak_password_and_an_unknown_account(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    signed_in: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _ = run(
        capsys, "admin", "reset-password", "--site", SITE_CODE, "--username", USER,
        "--password-stdin",
    )  # fmt: skip
    assert code != 0
    for site, user in ((SITE_CODE, "nobody"), ("another-site", USER)):
        code, _ = run(capsys, "admin", "reset-password", "--site", site, "--username", user)
        assert code == NotFoundError.exit_code
    with Store.open(_settings(data_dir)) as store:
        # Nothing changed: the session stands.
        assert store.accounts.session(signed_in).principal_id


@pytest.mark.parametrize("stdin", ["", "\n", "\r\n"], ids=["eof", "empty-line", "crlf"])
def test_reset_password_refuses_an_empty_password_on_stdin_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    signed_in: str,
    stdin: str,
) -> None:
    with Store.open(_settings(data_dir)) as store:
        before = _last_reset(store)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code, body = run(
        capsys, "admin", "reset-password", "--site", SITE_CODE, "--username", USER,
        "--password-stdin",
    )  # fmt: skip
    assert code == InvalidRecordError.exit_code != 0
    assert body["error"]["code"] == "invalid_record"
    assert body["error"]["message"].startswith("no password on stdin")
    # The text form says the same on stderr.
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = ["admin", "reset-password", "--site", SITE_CODE, "--username", USER]
    assert main([*args, "--password-stdin"]) == InvalidRecordError.exit_code
    assert "no password on stdin" in capsys.readouterr().err
    with Store.open(_settings(data_dir)) as store:
        # Nothing changed: no reset audited, the session stands, the account stays locked.
        assert _last_reset(store) == before
        assert store.accounts.session(signed_in).principal_id
        with pytest.raises(AuthenticationError):
            store.accounts.sign_in_admin(USER, OLD_PASSWORD)


def test_a_second_demo_run_says_how_to_get_back_in(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    assert main(["--data-dir", str(data_dir), "serve", "--demo"]) == 0
    first = capsys.readouterr().out
    assert "(shown once)" in first
    assert main(["--data-dir", str(data_dir), "serve", "--demo"]) == 0
    second = capsys.readouterr().out
    assert "(shown once)" not in second
    command = (
        f"facegate --data-dir {data_dir} admin reset-password --site demo --username {DEMO_ADMIN}"
    )
    assert command in second
    # The command it prints works.
    code, body = run(
        capsys, "--data-dir", str(data_dir), "admin", "reset-password", "--site", "demo",
        "--username", DEMO_ADMIN,
    )  # fmt: skip
    assert code == 0
    with Store.open(_settings(data_dir)) as store:
        assert store.accounts.sign_in_admin(DEMO_ADMIN, body["password"]).info.role is Role.ADMIN


@pytest.mark.rule("R-27")
def test_create_makes_the_first_administrator_of_a_site_and_list_shows_no_password(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    with Store.open(_settings(data_dir)) as store:
        ready_site(store)
    code, body = run(capsys, "admin", "create", "--site", SITE_CODE, "--username", "boss@sunny")
    assert code == 0, body
    assert (body["role"], body["site"]) == ("admin", SITE_CODE)
    password = body["password"]
    code, body = run(
        capsys, "admin", "create", "--site", SITE_CODE, "--username", "audit@sunny",
        "--role", "auditor",
    )  # fmt: skip
    assert code == 0, body
    code, listed = run(capsys, "admin", "list", "--site", SITE_CODE)
    assert code == 0
    assert [(s["username"], s["role"]) for s in listed["staff"]] == [
        ("boss@sunny", "admin"),
        ("audit@sunny", "auditor"),
    ]
    assert password not in json.dumps(listed)
    assert all("hash" not in key and "password" not in key for key in listed["staff"][0])
    code, _ = run(capsys, "admin", "create", "--site", SITE_CODE, "--username", "boss@sunny")
    assert code != 0
    with Store.open(_settings(data_dir)) as store:
        assert store.accounts.sign_in_admin("boss@sunny", password).info.role is Role.ADMIN
        with store.reading() as session:
            actors = session.scalars(
                select(AuditEvent.actor).where(AuditEvent.action == AuditAction.ADMIN_CREATED.value)
            ).all()
        assert actors == ["cli", "cli"]
