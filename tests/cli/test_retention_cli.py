"""``facegate retention``, ``backup``, ``snapshot`` and ``subject move-out`` on a real store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from facegate.cli.main import main
from facegate.core.config import Environment, Settings
from facegate.errors import NotFoundError, PolicyError
from facegate.store import Store, SubjectKind

from ..store.helpers import OPERATOR, SITE_CODE, enrolled_subject, ready_site


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["--json", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


@pytest.fixture
def subject_id(data_dir: Path) -> str:
    with Store.open(Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)) as store:
        ready_site(store)
        subject, _ = enrolled_subject(store, count=2)
        store.retention.set_policy(SITE_CODE, resident_retention_days=0, actor=OPERATOR)
    return subject.id


@pytest.mark.rule("R-24")
def test_r24_move_out_then_retention_run_purges_with_a_receipt(
    capsys: pytest.CaptureFixture[str], subject_id: str
) -> None:
    code, body = run(capsys, "subject", "move-out", subject_id, "--when", "2026-01-02")
    assert code == 0, body
    assert body["moved_out_at"].startswith("2026-01-02T00:00:00")
    code, body = run(capsys, "retention", "run")
    assert code == 0, body
    report = body["retention"]
    assert report["residents_purged"] == 1
    (receipt,) = report["receipts"]
    assert (receipt["subject_id"], receipt["reason"], receipt["templates_deleted"]) == (
        subject_id,
        "move_out",
        2,
    )
    code, body = run(capsys, "retention", "run")
    assert (code, body["retention"]["receipts"]) == (0, [])


@pytest.mark.rule("R-23")
def test_r23_backup_create_list_and_restore(
    capsys: pytest.CaptureFixture[str], subject_id: str
) -> None:
    code, body = run(capsys, "backup", "create")
    assert code == 0, body
    path = body["backup"]["path"]
    code, body = run(capsys, "backup", "list")
    assert [b["path"] for b in body["backups"]] == [path]
    code, body = run(capsys, "subject", "delete", subject_id, "--reason", "request")
    assert (code, body["receipt"]["reason"], body["receipt"]["keys_destroyed"]) == (0, "request", 1)
    code, body = run(capsys, "backup", "restore", path, "--yes")
    assert code == 0, body
    assert body["restore"]["subjects_erased"] == 1
    code, body = run(capsys, "subject", "list", "--site", SITE_CODE)
    assert body["subjects"] == []


def test_backup_restore_says_what_it_carried_forward(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    with Store.open(Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)) as store:
        ready_site(store)
        subject = store.add_subject(SITE_CODE, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
        card = store.credentials.issue_card(subject.id, "ZX90-7788-QW", OPERATOR)
        backup = store.backups.create(actor=OPERATOR)
        store.credentials.revoke(card.id, OPERATOR)
    assert main(["backup", "restore", str(backup.path), "--yes"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "carried forward: 1 credential(s) revoked, 0 one-time code(s) spent" in said
    code, body = run(capsys, "backup", "restore", str(backup.path), "--yes")
    assert (code, body["restore"]["revocations"]["credentials_revoked"]) == (0, 1)


def test_bad_input_gets_typed_errors(capsys: pytest.CaptureFixture[str], subject_id: str) -> None:
    code, body = run(capsys, "retention", "policy", "--site", SITE_CODE, "--keep-disputed-frames")
    assert (code, body["error"]["code"]) == (PolicyError.exit_code, "policy_refused")
    code, body = run(capsys, "retention", "policy", "--site", SITE_CODE, "--snapshot-days", "0")
    assert (code, body["error"]["code"]) == (6, "invalid_record")
    code, body = run(capsys, "snapshot", "show", "0" * 32)
    assert (code, body["error"]["code"]) == (NotFoundError.exit_code, "not_found")
    assert run(capsys, "subject", "delete", subject_id, "--reason", "bogus")[0] == 2
    code, body = run(capsys, "snapshot", "list", "--site", SITE_CODE)
    assert (code, body["snapshots"]) == (0, [])
    code, body = run(capsys, "retention", "policy", "--site", SITE_CODE)
    assert body["policy"]["keep_disputed_frames"] is False
