"""A subject can export what is held about them, never their templates (R-32)."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from facegate.cli import main as cli_main
from facegate.core.config import Settings
from facegate.errors import InvalidRecordError, NotFoundError
from facegate.store import AuditAction, SiteInfo, Store
from facegate.store.exports import EXPORT_FORMAT
from facegate.store.schema import Snapshot, new_id, utcnow

from .helpers import MODEL, NOTICE_VERSION, OPERATOR, enrolled_subject

CARD_NUMBER = "0012345678"
PIN = "482915"
FRAME_SHA256 = "5e" * 32


def _held(store: Store) -> tuple[str, list[npt.NDArray[np.float32]]]:
    """A subject with templates, a card, a PIN, a decision and a kept frame's record."""
    subject, vectors = enrolled_subject(store, count=2, seed=7)
    store.credentials.issue_card(subject.id, CARD_NUMBER, OPERATOR)
    store.credentials.set_pin(subject.id, PIN, OPERATOR)
    store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")
    store.record_decision(
        subject.site_code, "gate:1", AuditAction.DECISION_VERIFY, subject.id, "match"
    )
    # The frame's row only: the export reads metadata, never the file.
    with store.transaction() as session:
        site_id = store.get_site(subject.site_code).id
        now = utcnow()
        session.add(
            Snapshot(
                id=new_id(),
                site_id=site_id,
                subject_id=subject.id,
                taken_at=now,
                expires_at=now + timedelta(days=7),
                reason="disputed_entry",
                ciphertext_sha256=FRAME_SHA256,
                bystanders_redacted=2,
            )
        )
    return subject.id, vectors


def _secrets(raw_db: sqlite3.Connection, subject_id: str) -> list[str]:
    """Every stored secret of the subject, as text the way it might leak."""
    found: list[str] = []
    for nonce, ciphertext in raw_db.execute(
        "SELECT nonce, ciphertext FROM template WHERE subject_id = ?", (subject_id,)
    ):
        for blob in (bytes(nonce), bytes(ciphertext)):
            found += [blob.hex(), blob[:16].hex(), base64.b64encode(blob).decode()[:24]]
    for lookup_hash, secret_hash in raw_db.execute(
        "SELECT lookup_hash, secret_hash FROM credential WHERE subject_id = ?", (subject_id,)
    ):
        found += [value for value in (lookup_hash, secret_hash) if value]
    assert len(found) >= 2 * 6 + 2  # the check below has something to look for
    return found


def _embedding_texts(vectors: list[npt.NDArray[np.float32]]) -> list[str]:
    # float64 repr and float32's shortest repr: 8+ digits, which no timestamp holds.
    texts = []
    for vector in vectors:
        for value in vector[:32]:
            texts += [repr(float(value)), str(np.float32(value))]
    return texts


@pytest.mark.rule("R-32")
def test_export_holds_the_record_but_no_template_key_or_hash(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject_id, vectors = _held(store)
    export = store.exports.subject_export(subject_id, "resident-request")
    dump = json.dumps(export, ensure_ascii=False)

    for text in _embedding_texts(vectors) + _secrets(raw_db, subject_id) + [FRAME_SHA256]:
        assert text not in dump
    for field in ("lookup_hash", "secret_hash", "ciphertext", "nonce", "wrapped_key", "sha256"):
        assert field not in dump
    assert CARD_NUMBER not in dump
    assert PIN not in dump

    assert export["format"] == EXPORT_FORMAT
    assert export["subject"]["id"] == subject_id
    assert export["subject"]["display_name"] == "Zhang San"
    assert export["subject"]["status"] == "active"
    assert export["face_templates"]["count"] == 2
    assert [t["model_name"] for t in export["face_templates"]["held"]] == [MODEL, MODEL]
    [consent] = export["consents"]
    assert consent["notice_version"] == NOTICE_VERSION
    assert consent["method"] == "signature"
    assert consent["evidence_ref"] == "scan:consent-form"
    assert consent["given_at"] is not None
    assert consent["expires_at"] is not None
    assert consent["withdrawn_at"] is None
    assert sorted(c["kind"] for c in export["credentials"]) == ["card", "pin"]
    assert all(c["status"] == "active" for c in export["credentials"])
    [frame] = export["kept_frames"]
    assert (frame["reason"], frame["bystanders_redacted"]) == ("disputed_entry", 2)
    assert export["deletion_receipts"] == []
    actions = [event["action"] for event in export["audit_events"]]
    assert actions[:3] == ["subject.added", "consent.recorded", "template.enrolled"]
    assert "templates.read" in actions
    decision = next(e for e in export["audit_events"] if e["action"] == "decision.verify")
    assert decision["detail"] == {"outcome": "match"}
    assert actions[-1] == "subject.exported"
    assert json.loads(dump) == export  # JSON-ready: nothing needed a custom encoder


@pytest.mark.rule("R-32", "R-27")
def test_export_is_audited(store: Store, site: SiteInfo) -> None:
    subject_id, _ = _held(store)
    store.exports.subject_export(subject_id, "resident-request")
    events = store.audit_events(subject_id)
    assert (events[-1].action, events[-1].actor) == ("subject.exported", "resident-request")
    assert events[-1].detail == {"format": EXPORT_FORMAT}
    assert store.verify_audit().ok


@pytest.mark.rule("R-32", "R-23")
def test_a_deleted_subjects_export_shows_the_tombstone_and_receipt(
    store: Store, site: SiteInfo
) -> None:
    subject_id, _ = _held(store)
    receipt = store.delete_subject(subject_id, "request", OPERATOR)

    export = store.exports.subject_export(subject_id, "resident-request")

    assert export["subject"]["status"] == "deleted"
    assert export["subject"]["display_name"] is None
    assert export["subject"]["deleted_at"] is not None
    assert export["face_templates"]["count"] == 0
    assert export["credentials"] == []
    assert export["kept_frames"] == []
    [shown] = export["deletion_receipts"]
    assert shown["id"] == receipt.id
    assert shown["reason"] == "request"
    assert shown["subject_erased"] is True
    assert shown["templates_deleted"] == 2
    assert shown["credentials_deleted"] == 2
    assert shown["audit_event_id"] == receipt.audit_event_id
    assert all(c["withdrawn_at"] is not None for c in export["consents"])
    assert "Zhang San" not in json.dumps(export, ensure_ascii=False)
    assert "subject.deleted" in [e["action"] for e in export["audit_events"]]


def test_export_refuses_unknown_or_malformed_ids(store: Store, site: SiteInfo) -> None:
    with pytest.raises(NotFoundError):
        store.exports.subject_export("a" * 32, OPERATOR)
    with pytest.raises(InvalidRecordError):
        store.exports.subject_export("../etc", OPERATOR)
    with pytest.raises(InvalidRecordError):
        store.exports.subject_export("a" * 32, " ")


def _cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data_dir: Path, *args: str
) -> tuple[int, str]:
    monkeypatch.setenv("FACEGATE_ENV", "development")
    code = cli_main.main(["--data-dir", str(data_dir), *args])
    return code, capsys.readouterr().out


@pytest.mark.rule("R-32")
def test_cli_writes_the_export_readable_by_its_owner_only(
    store: Store,
    site: SiteInfo,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subject_id, _ = _held(store)
    out = tmp_path / "export.json"
    out.write_text("old")
    out.chmod(0o644)

    code, _ = _cli(
        capsys, monkeypatch, settings.data_dir, "subject", "export", subject_id, "--out", str(out)
    )

    assert code == 0
    assert out.stat().st_mode & 0o777 == 0o600
    written: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert written["subject"]["id"] == subject_id
    assert written["audit_events"][-1]["actor"] == "cli"

    code, printed = _cli(capsys, monkeypatch, settings.data_dir, "subject", "export", subject_id)
    assert code == 0
    assert json.loads(printed)["subject"]["id"] == subject_id

    code, _ = _cli(capsys, monkeypatch, settings.data_dir, "subject", "export", "b" * 32)
    assert code == NotFoundError.exit_code
