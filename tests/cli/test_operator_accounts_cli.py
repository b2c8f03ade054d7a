"""``facegate operator-account create | add-site | list``: a property company's account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from facegate.cli.main import main
from facegate.core.config import Environment, Settings
from facegate.errors import AlreadyExistsError, AuthenticationError, NotFoundError
from facegate.store import Store

from ..store.helpers import ready_site

COMPANY = "Sunny Property Co."
EAST, WEST = "sunny-east", "sunny-west"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["--json", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


@pytest.fixture
def sites(data_dir: Path) -> None:
    with Store.open(Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)) as store:
        ready_site(store, EAST, "Sunny East")
        ready_site(store, WEST, "Sunny West")


def test_create_add_sites_and_list(
    capsys: pytest.CaptureFixture[str], sites: None, data_dir: Path
) -> None:
    for site in (EAST, WEST):
        code, body = run(capsys, "operator-account", "add-site", "--organisation", COMPANY,
                         "--site", site)  # fmt: skip
        assert code == 0
        assert (body["organisation"], body["enrolled_people"]) == (COMPANY, 0)
    code, made = run(
        capsys, "operator-account", "create", "--organisation", COMPANY, "--username", "ops@s"
    )
    assert code == 0
    assert len(made["password"]) >= 12
    code, listed = run(capsys, "operator-account", "list")
    assert code == 0
    assert [a["username"] for a in listed["accounts"]] == ["ops@s"]
    assert "password" not in json.dumps(listed)
    [organisation] = listed["organisations"]
    assert [s["code"] for s in organisation["sites"]] == [EAST, WEST]
    with Store.open(Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)) as store:
        # The printed password signs in.
        assert store.operator_accounts.sign_in("ops@s", made["password"]).info.organisation == (
            COMPANY
        )


def test_a_taken_username_and_an_unknown_site_are_refused(
    capsys: pytest.CaptureFixture[str], sites: None
) -> None:
    args = ("operator-account", "create", "--organisation", COMPANY, "--username", "ops@s")
    assert run(capsys, *args)[0] == 0
    assert run(capsys, *args)[0] == AlreadyExistsError.exit_code
    code, _ = run(
        capsys, "operator-account", "add-site", "--organisation", COMPANY, "--site", "nowhere"
    )
    assert code == NotFoundError.exit_code


def test_reset_password_and_disable_end_the_sessions(
    capsys: pytest.CaptureFixture[str], sites: None, data_dir: Path
) -> None:
    _, made = run(
        capsys, "operator-account", "create", "--organisation", COMPANY, "--username", "ops@s"
    )
    settings = Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)
    with Store.open(settings) as store:
        token = store.operator_accounts.sign_in("ops@s", made["password"]).token
    code, reset = run(capsys, "operator-account", "reset-password", "--username", "ops@s")
    assert code == 0
    assert reset["password"] != made["password"]
    with Store.open(settings) as store:
        assert not store.operator_accounts.is_session(token)
        token = store.operator_accounts.sign_in("ops@s", reset["password"]).token
    code, disabled = run(capsys, "operator-account", "disable", "--username", "ops@s")
    assert (code, disabled["disabled"]) == (0, True)
    with Store.open(settings) as store:
        assert not store.operator_accounts.is_session(token)
        with pytest.raises(AuthenticationError):
            store.operator_accounts.sign_in("ops@s", reset["password"])
    code, enabled = run(capsys, "operator-account", "enable", "--username", "ops@s")
    assert (code, enabled["disabled"]) == (0, False)
    assert run(capsys, "operator-account", "disable", "--username", "nobody")[0] == (
        NotFoundError.exit_code
    )
