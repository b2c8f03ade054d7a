"""``facegate audit verify`` catches a tail cut from the audit log (R-27): exit 8."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from facegate.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["--json", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


@pytest.mark.rule("R-27")
def test_r27_cli_audit_verify_exits_8_on_a_tail_cut_behind_a_rewound_head(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    assert run(capsys, "init")[0] == 0
    for name in ("One", "Two", "Three"):
        assert run(capsys, "subject", "add", "--name", name, "--adult")[0] == 0
    code, body = run(capsys, "audit", "verify")
    assert (code, body["audit"]["ok"], body["audit"]["receipt_found"]) == (0, True, True)
    last = body["audit"]["events_checked"]
    # An attacker with raw database access, without the site key or the receipt file.
    with closing(sqlite3.connect(data_dir / "facegate.sqlite", isolation_level=None)) as db:
        db.execute("DROP TRIGGER audit_event_no_delete")
        db.execute("DROP TRIGGER audit_head_only_advances")
        db.execute("DELETE FROM audit_event WHERE id > ?", (last - 2,))
        db.execute(
            "UPDATE audit_head SET last_id = ?,"
            " last_hash = (SELECT hash FROM audit_event WHERE id = ?)",
            (last - 2, last - 2),
        )
    code, body = run(capsys, "audit", "verify")
    assert (code, body["audit"]["ok"]) == (8, False)
    assert "seal" in body["audit"]["reason"]
    assert main(["audit", "verify"]) == 8
    assert "audit chain broken" in capsys.readouterr().out
    code, body = run(capsys, "incident", "list")
    assert [i["kind"] for i in body["incidents"]] == ["audit_chain_broken"]


def test_cli_audit_verify_says_when_no_receipt_was_found(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    assert run(capsys, "init")[0] == 0
    (data_dir / "keys" / "audit-head.json").unlink()
    assert main(["audit", "verify"]) == 0
    assert "no head receipt was found" in capsys.readouterr().out
    assert (data_dir / "keys" / "audit-head.json").exists()
