"""The audit log's tail is anchored outside the database: a cut cannot hide (R-27).

The attacker here has raw write access to the database file, not the site key and not the
receipt file (kept beside the key store).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command

from facegate.core.config import Environment, Settings
from facegate.store import SiteInfo, Store
from facegate.store.audit import verify_audit_chain
from facegate.store.audit_anchor import RECEIPT_INTERVAL_S, AuditReceipts, load_receipt
from facegate.store.engine import make_engine
from facegate.store.migrate import alembic_config

from .helpers import MODEL, OPERATOR, enrolled_subject


def _history(store: Store, site: SiteInfo) -> int:
    """A few audited actions; returns the newest event's id."""
    subject, _ = enrolled_subject(store, count=2)
    store.load_gallery(site.code, MODEL, "gate:1", "identify")
    for outcome in ("accept", "reject", "unknown"):
        store.record_decision(site.code, "gate:1", "decision.identify", None, outcome)
    store.delete_subject(subject.id, "move_out", OPERATOR)
    report = store.verify_audit()
    assert report.ok
    return report.events_checked


def _cut_tail(raw_db: sqlite3.Connection, keep: int) -> None:
    """The attack: drop the two triggers in the way, delete every event after ``keep`` and
    point ``audit_head`` at event ``keep`` (its id and hash are authentic)."""
    raw_db.execute("DROP TRIGGER audit_event_no_delete")
    raw_db.execute("DROP TRIGGER audit_head_only_advances")
    raw_db.execute("DELETE FROM audit_event WHERE id > ?", (keep,))
    raw_db.execute(
        "UPDATE audit_head SET last_id = ?,"
        " last_hash = (SELECT hash FROM audit_event WHERE id = ?) WHERE id = 1",
        (keep, keep),
    )


def _receipt_path(settings: Settings) -> Path:
    return settings.resolved_audit_receipt_path


@pytest.mark.rule("R-27")
def test_r27_a_tail_cut_behind_a_rewound_head_is_detected(
    store: Store, site: SiteInfo, settings: Settings, raw_db: sqlite3.Connection
) -> None:
    last = _history(store, site)
    store.close()  # writes the receipt
    _cut_tail(raw_db, last - 3)
    with Store.open(settings) as reopened:
        report = reopened.verify_audit()
        assert (report.ok, report.events_checked) == (False, last - 3)
        assert report.reason is not None
        assert "seal" in report.reason
        # New events do not heal it: the failing seal is carried forward.
        reopened.record_decision(site.code, "gate:1", "decision.identify", None, "unknown")
        assert reopened.verify_audit().ok is False
        assert [i.kind.value for i in reopened.incidents.list()] == ["audit_chain_broken"]


@pytest.mark.sqlite_only("restores a head row from a SQLite backup file")
@pytest.mark.rule("R-27")
def test_r27_a_head_row_copied_from_an_older_backup_is_caught_by_the_receipt(
    store: Store, site: SiteInfo, settings: Settings, raw_db: sqlite3.Connection
) -> None:
    _history(store, site)
    backup = store.backups.create(actor=OPERATOR)
    after_backup = load_receipt(_receipt_path(settings), store.site_key).receipt
    last = _history(store, site)
    store.close()
    with closing(sqlite3.connect(backup.path)) as old:
        head = old.execute("SELECT last_id, last_hash, head_mac FROM audit_head").fetchone()
    # The backup's head is the event before backup.created, which the receipt anchored.
    assert after_backup is not None
    assert after_backup.last_id == head[0] + 1
    _cut_tail(raw_db, head[0])
    raw_db.execute("UPDATE audit_head SET last_id = ?, last_hash = ?, head_mac = ?", head)
    with Store.open(settings) as reopened:
        with reopened.reading() as session:
            # The seal is authentic: only the receipt can tell.
            assert verify_audit_chain(session, reopened.site_key).ok
        report = reopened.verify_audit()
    assert (report.ok, report.first_bad_event_id, report.receipt_found) == (
        False,
        head[0] + 1,
        True,
    )
    assert report.reason is not None
    assert f"names event {last}" in report.reason
    assert "removed from the end" in report.reason
    # The evidence stays: neither the check nor the close wrote over the receipt.
    kept = load_receipt(_receipt_path(settings), store.site_key).receipt
    assert kept is not None
    assert kept.last_id == last


@pytest.mark.sqlite_only("downgrades with SQLite's foreign_keys pragma")
@pytest.mark.rule("R-27")
def test_r27_resealing_through_a_rewritten_revision_is_caught_by_the_receipt(
    store: Store, site: SiteInfo, settings: Settings, raw_db: sqlite3.Connection
) -> None:
    # The seal is only ever added when upgrading from an unsealed revision; an attacker who
    # takes the database back to one (the shipped downgrade does) gets the cut head sealed.
    last = _history(store, site)
    store.close()
    _cut_tail(raw_db, last - 2)
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            connection.connection.cursor().execute("PRAGMA foreign_keys = OFF")
            with connection.begin():
                command.downgrade(alembic_config(connection), "0004")
    finally:
        engine.dispose()
    with Store.open(settings) as reopened:
        with reopened.reading() as session:
            assert verify_audit_chain(session, reopened.site_key).ok  # sealed again
        report = reopened.verify_audit()
    assert (report.ok, report.first_bad_event_id) == (False, last - 1)
    assert report.reason is not None
    assert "removed from the end" in report.reason


@pytest.mark.rule("R-27")
def test_r27_a_removed_seal_is_tampering_and_never_sealed_again(
    store: Store, site: SiteInfo, settings: Settings, raw_db: sqlite3.Connection
) -> None:
    _history(store, site)
    with pytest.raises(sqlite3.IntegrityError, match="only advances"):
        raw_db.execute("UPDATE audit_head SET head_mac = NULL")
    raw_db.execute("DROP TRIGGER audit_head_only_advances")
    raw_db.execute("UPDATE audit_head SET head_mac = NULL")
    report = store.verify_audit()
    assert (report.ok, report.first_bad_event_id) == (False, None)
    assert report.reason is not None
    assert "has no seal" in report.reason
    store.close()
    with Store.open(settings) as reopened:
        assert reopened.verify_audit().ok is False


@pytest.mark.rule("R-27")
def test_r27_an_edited_receipt_is_reported_and_kept(
    store: Store, site: SiteInfo, settings: Settings, raw_db: sqlite3.Connection
) -> None:
    _history(store, site)
    store.close()
    path = _receipt_path(settings)
    body = json.loads(path.read_text())
    # Values of a real, older event: only the MAC can tell.
    (older_hash,) = raw_db.execute("SELECT hash FROM audit_event WHERE id = 3").fetchone()
    body.update(last_id=3, last_hash=older_hash)
    path.write_text(json.dumps(body))
    with Store.open(settings) as reopened:
        report = reopened.verify_audit()
    assert (report.ok, report.receipt_found) == (False, True)
    assert report.reason is not None
    assert "fails authentication" in report.reason
    assert json.loads(path.read_text()) == body


@pytest.mark.rule("R-27")
def test_r27_a_missing_receipt_is_said_and_then_written(
    store: Store, site: SiteInfo, settings: Settings
) -> None:
    last = _history(store, site)  # its check wrote a receipt
    path = _receipt_path(settings)
    path.unlink()
    report = store.verify_audit()
    assert (report.ok, report.receipt_found) == (True, False)
    receipt = load_receipt(path, store.site_key).receipt
    assert receipt is not None
    assert receipt.last_id == last
    assert store.verify_audit().receipt_found is True


def test_the_receipt_sits_beside_the_key_store_private_and_signed(
    store: Store, site: SiteInfo, settings: Settings
) -> None:
    path = _receipt_path(settings)
    assert path == settings.resolved_keystore_path.parent / "audit-head.json"
    assert not path.exists()  # nothing anchored it yet
    store.retention.run()  # a retention run anchors its retention.run event
    report = store.verify_audit()
    assert path.stat().st_mode & 0o777 == 0o600
    body = json.loads(path.read_text())
    assert sorted(body) == ["last_hash", "last_id", "mac", "version", "written_at"]
    assert (body["version"], body["last_id"]) == (1, report.events_checked)
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_the_receipt_path_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "anchor" / "head.json"
    monkeypatch.setenv("FACEGATE_AUDIT_RECEIPT_PATH", str(elsewhere))
    settings = Settings(data_dir=tmp_path / "data", env=Environment.DEVELOPMENT)
    assert settings.resolved_audit_receipt_path == elsewhere
    with Store.open(settings) as store:
        store.create_site("north-gate", "North Gate")
    receipt = load_receipt(elsewhere, store.site_key).receipt
    assert receipt is not None
    assert receipt.last_id == 1
    assert not (settings.resolved_keystore_path.parent / "audit-head.json").exists()


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.rule("R-27")
def test_r27_a_running_store_anchors_new_events_at_most_every_interval(
    store: Store, site: SiteInfo, settings: Settings
) -> None:
    clock = _Clock()
    path = _receipt_path(settings)
    store.audit_receipts = AuditReceipts(path, store.site_key, store.reading, clock=clock)

    def decide() -> int:
        return store.record_decision(site.code, "gate:1", "decision.identify", None, "unknown")

    decide()
    assert not path.exists()  # within the interval since opening
    clock.now += RECEIPT_INTERVAL_S
    anchored = decide()
    clock.now += RECEIPT_INTERVAL_S / 2
    decide()
    receipt = load_receipt(path, store.site_key).receipt
    assert receipt is not None
    assert receipt.last_id == anchored
    clock.now += RECEIPT_INTERVAL_S / 2
    newest = decide()
    receipt = load_receipt(path, store.site_key).receipt
    assert receipt is not None
    assert receipt.last_id == newest
