"""``facegate notice``, ``consent`` and ``guardian`` on a real store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from facegate.cli.main import main
from facegate.privacy.notice_template import starter_notice


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["--json", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


def _site(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "init", "--site", "sunny", "--name", "Sunny Garden")[0] == 0
    code, body = run(
        capsys,
        "notice", "publish", "--site", "sunny", "--version", "2026-1", "--starter",
        "--operator", "Sunny Co.", "--contact", "021-5555",
    )  # fmt: skip
    assert code == 0, body


def _years_ago(years: int) -> str:
    today = datetime.now(UTC).date()
    return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()


@pytest.mark.rule("R-01")
def test_r01_notice_published_shown_in_both_languages_and_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _site(capsys)
    code, body = run(capsys, "notice", "show", "--site", "sunny")
    assert code == 0
    texts = body["notice"]["content"]["texts"]
    assert set(texts) == {"zh", "en"}
    assert "Sunny Garden" in texts["zh"]["purpose"]
    assert main(["notice", "show", "--site", "sunny", "--lang", "en"]) == 0
    assert "Withdraw consent" in capsys.readouterr().out
    code, body = run(capsys, "notice", "list", "--site", "sunny")
    assert [n["version"] for n in body["notices"]] == ["2026-1"]


@pytest.mark.rule("R-06")
def test_r06_widening_notice_from_a_file_asks_for_renewal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _site(capsys)
    _, body = run(capsys, "subject", "add", "--site", "sunny", "--name", "Li Si", "--adult")
    subject_id = body["subject"]["id"]
    assert (
        run(capsys, "consent", "record", subject_id, "--site", "sunny", "--evidence", "f1")[0] == 0
    )
    content = json.loads(starter_notice("Sunny Garden", "Sunny Co.", "021").to_json())
    content["purposes"].append("dispute_review")
    wider = tmp_path / "notice.json"
    wider.write_text(json.dumps(content), encoding="utf-8")
    code, body = run(
        capsys, "notice", "publish", "--site", "sunny", "--version", "2026-2", "--file", str(wider)
    )
    assert (code, body["consents_needing_renewal"]) == (0, 1)
    _, body = run(capsys, "consent", "list", subject_id)
    assert body["consents"][0]["renewal_required_at"] is not None


def test_bad_notice_files_are_clear_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _site(capsys)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    code, body = run(
        capsys, "notice", "publish", "--site", "sunny", "--version", "x", "--file", str(broken)
    )
    assert (code, body["error"]["code"]) == (6, "invalid_record")
    broken.write_text(json.dumps({"purposes": ["spying"]}), encoding="utf-8")
    code, body = run(
        capsys, "notice", "publish", "--site", "sunny", "--version", "x", "--file", str(broken)
    )
    assert body["error"]["code"] == "invalid_record"
    assert main(["notice", "publish", "--site", "sunny", "--version", "x"]) == 2
    code, body = run(capsys, "notice", "show", "--site", "sunny", "--version", "1999")
    assert body["error"]["code"] == "not_found"


@pytest.mark.rule("R-04", "R-05")
def test_r04_guardian_consents_and_withdraws_for_a_child(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _site(capsys)
    _, body = run(
        capsys, "subject", "add", "--site", "sunny", "--name", "Xiao Ming", "--born", _years_ago(9)
    )
    child = body["subject"]["id"]
    assert body["subject"]["minor"] is True
    code, body = run(capsys, "consent", "record", child, "--site", "sunny", "--evidence", "f")
    assert (code, body["error"]["code"]) == (6, "guardian_required")
    code, body = run(capsys, "guardian", "add", child, "--name", "Teen", "--born", _years_ago(15))
    assert body["error"]["code"] == "invalid_record"
    _, body = run(capsys, "guardian", "add", child, "--name", "Ming Ma", "--born", _years_ago(40))
    guardian = body["guardian"]["id"]
    code, body = run(
        capsys, "consent", "record", child, "--site", "sunny", "--evidence", "f",
        "--guardian", guardian,
    )  # fmt: skip
    assert (code, body["consent"]["given_by"]) == (0, "Ming Ma")
    code, body = run(capsys, "consent", "withdraw", child, "--guardian", guardian)
    assert code == 0
    assert len(body["withdrawn"]) == 1
    assert (body["receipt"]["reason"], body["receipt"]["subject_id"]) == ("withdrawal", child)
    code, body = run(capsys, "consent", "withdraw", child)
    assert (code, body["withdrawn"], body["receipt"]) == (0, [], None)


def test_subject_add_needs_an_age_statement(capsys: pytest.CaptureFixture[str]) -> None:
    _site(capsys)
    assert main(["subject", "add", "--site", "sunny", "--name", "Li Si"]) == 2
    capsys.readouterr()
    code, body = run(
        capsys, "subject", "add", "--site", "sunny", "--name", "Li Si", "--born", "2999-01-01"
    )
    assert (code, body["error"]["code"]) == (6, "invalid_record")
    code, body = run(
        capsys, "subject", "add", "--site", "sunny", "--name", "Guest", "--adult",
        "--kind", "visitor",
    )  # fmt: skip
    assert "expires_at" in body["error"]["message"]
