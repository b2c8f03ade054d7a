"""The audit log is append-only, tamper-evident and free of face data (R-27)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime

import pytest

from facegate.core.config import Settings
from facegate.errors import ConsentRequiredError, InvalidRecordError, NotFoundError
from facegate.store import AuditAction, SiteInfo, Store, SubjectKind
from facegate.store.audit import GENESIS_HASH, chain_hash

from .helpers import MODEL, OPERATOR, consented_subject, enrolled_subject, random_embeddings


def _some_history(store: Store, site: SiteInfo) -> int:
    """Write a few events of every kind; returns the number of events in the log."""
    subject, _ = enrolled_subject(store, count=2)
    store.load_gallery(site.code, MODEL, "gate:1", "identify")
    store.record_decision(site.code, "gate:1", "decision.identify", subject.id, "accept")
    store.delete_subject(subject.id, "move_out", OPERATOR)
    report = store.verify_audit()
    assert report.ok
    return report.events_checked


def _drop_trigger(raw_db: sqlite3.Connection, name: str) -> None:
    # An attacker with raw database access can drop the triggers; the chain must still tell.
    if isinstance(raw_db, sqlite3.Connection):
        raw_db.execute(f"DROP TRIGGER {name}")
    else:  # PostgreSQL names a trigger's table: each of these is on the table it begins with.
        table = "audit_head" if name.startswith("audit_head") else "audit_event"
        raw_db.execute(f"DROP TRIGGER {name} ON {table}")


def _utc(at: str | datetime) -> datetime:
    # SQLite hands back the stored text (UTC, naive); PostgreSQL an aware datetime.
    if isinstance(at, datetime):
        return at.astimezone(UTC)
    return datetime.fromisoformat(at).replace(tzinfo=UTC)


@pytest.mark.rule("R-27")
def test_r27_untouched_chain_verifies(store: Store, site: SiteInfo) -> None:
    # site.created, notice.published, assessment.recorded, subject.added, consent.recorded,
    # template.enrolled, templates.read, decision.identify, subject.deleted
    assert _some_history(store, site) == 9
    report = store.verify_audit()
    assert (report.ok, report.events_checked, report.first_bad_event_id, report.reason) == (
        True,
        9,
        None,
        None,
    )


@pytest.mark.rule("R-27")
def test_r27_every_access_and_decision_is_recorded(store: Store, site: SiteInfo) -> None:
    subject, _ = enrolled_subject(store, count=2)
    store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")
    store.record_decision(
        site.code,
        "gate:1",
        AuditAction.DECISION_VERIFY,
        subject.id,
        "reject",
        {"liveness": "spoof"},
    )
    store.delete_subject(subject.id, "move_out", OPERATOR)
    events = store.audit_events(subject.id)
    assert [event.action for event in events] == [
        "subject.added",
        "consent.recorded",
        "template.enrolled",
        "templates.read",
        "decision.verify",
        "subject.deleted",
    ]
    assert events[2].detail["count"] == 2
    assert events[3].detail == {"count": 2, "model_name": MODEL, "purpose": "verify"}
    assert events[4].detail == {"outcome": "reject", "liveness": "spoof"}
    assert [event.actor for event in events[3:5]] == ["gate:1", "gate:1"]


@pytest.mark.rule("R-27")
def test_r27_a_refused_write_leaves_no_event(store: Store, site: SiteInfo) -> None:
    subject = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    before = store.verify_audit().events_checked
    with pytest.raises(ConsentRequiredError):
        store.enroll(subject.id, random_embeddings(1), MODEL, [0.9], OPERATOR)
    after = store.verify_audit()
    assert (after.ok, after.events_checked) == (True, before)


@pytest.mark.rule("R-27")
def test_r27_audit_rows_cannot_be_updated_or_deleted(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    _some_history(store, site)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw_db.execute("UPDATE audit_event SET actor = 'someone else' WHERE id = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw_db.execute("DELETE FROM audit_event WHERE id = 9")
    with pytest.raises(sqlite3.IntegrityError, match="only advances"):
        raw_db.execute(
            "UPDATE audit_head SET last_id = 8,"
            " last_hash = (SELECT hash FROM audit_event WHERE id = 8)"
        )
    with pytest.raises(sqlite3.IntegrityError, match="must extend"):
        raw_db.execute(
            "INSERT INTO audit_event (id, at, actor, action, detail, prev_hash, hash)"
            " VALUES (99, '2025-01-01 00:00:00', 'x', 'x', '{}', ?, ?)",
            (GENESIS_HASH, "f" * 64),
        )
    assert store.verify_audit().ok


@pytest.mark.rule("R-27")
def test_r27_audit_chain_detects_edit(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    _some_history(store, site)
    _drop_trigger(raw_db, "audit_event_no_update")
    raw_db.execute('UPDATE audit_event SET detail = \'{"outcome":"reject"}\' WHERE id = 8')
    report = store.verify_audit()
    assert (report.ok, report.first_bad_event_id, report.events_checked) == (False, 8, 7)
    assert report.reason is not None
    assert "altered" in report.reason


@pytest.mark.rule("R-27")
def test_r27_audit_chain_cannot_be_rewritten_without_the_key(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    _some_history(store, site)
    for name in ("audit_event_no_update", "audit_head_only_advances"):
        _drop_trigger(raw_db, name)
    # The attacker rewrites event 8 and recomputes every hash after it, with a guessed key.
    rows = raw_db.execute(
        "SELECT id, at, actor, action, site_id, subject_id, detail FROM audit_event"
        " WHERE id >= 8 ORDER BY id"
    ).fetchall()
    (prev_hash,) = raw_db.execute("SELECT hash FROM audit_event WHERE id = 7").fetchone()
    for event_id, at, actor, action, site_id, subject_id, detail in rows:
        if event_id == 8:
            detail = '{"outcome":"reject"}'
        digest = chain_hash(
            b"\0" * 32,
            prev_hash,
            event_id=event_id,
            at=_utc(at),
            actor=actor,
            action=action,
            site_id=site_id,
            subject_id=subject_id,
            detail=detail,
        )
        raw_db.execute(
            "UPDATE audit_event SET detail = ?, prev_hash = ?, hash = ? WHERE id = ?",
            (detail, prev_hash, digest, event_id),
        )
        prev_hash = digest
    raw_db.execute("UPDATE audit_head SET last_hash = ?", (prev_hash,))
    report = store.verify_audit()
    assert (report.ok, report.first_bad_event_id) == (False, 8)


@pytest.mark.rule("R-27")
def test_r27_audit_chain_detects_removed_middle_event(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    _some_history(store, site)
    _drop_trigger(raw_db, "audit_event_no_delete")
    raw_db.execute("DELETE FROM audit_event WHERE id = 6")
    report = store.verify_audit()
    assert (report.ok, report.first_bad_event_id, report.events_checked) == (False, 6, 5)
    assert report.reason is not None
    assert "missing" in report.reason


@pytest.mark.rule("R-27")
def test_r27_audit_chain_detects_removed_tail(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    total = _some_history(store, site)
    _drop_trigger(raw_db, "audit_event_no_delete")
    raw_db.execute("DELETE FROM audit_event WHERE id = ?", (total,))
    report = store.verify_audit()
    assert (report.ok, report.first_bad_event_id, report.events_checked) == (
        False,
        total,
        total - 1,
    )
    assert report.reason is not None
    assert "removed from the end" in report.reason


@pytest.mark.rule("R-27")
def test_r27_audit_holds_no_names_or_face_data(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject = consented_subject(store, name="Zhang San")
    vectors = random_embeddings(2, seed=3)
    store.enroll(subject.id, vectors, MODEL, [0.91, 0.87], OPERATOR)
    store.load_gallery(site.code, MODEL, "gate:1", "identify")
    store.delete_subject(subject.id, "move_out", OPERATOR)
    # The timestamp column is left out: its digits can spell any short decimal by chance.
    rows = raw_db.execute(
        "SELECT id, actor, action, site_id, subject_id, detail, prev_hash, hash FROM audit_event"
    )
    dump = "\n".join("|".join(str(value) for value in row) for row in rows)
    assert "Zhang San" not in dump
    assert "0.91" not in dump
    for vector in vectors:
        assert f"{vector[0]:.6f}"[:7] not in dump


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        ({"embedding": "0.1,0.2"}, "refused"),
        ({"Score": 0.42}, "refused"),
        ({"name": "Zhang San"}, "refused"),
        ({"values": [0.1, 0.2]}, "must be text, a number"),
        ({"nested": {"a": 1}}, "must be text, a number"),
        ({"note": "x" * 201}, "over 200"),
        ({f"k{i}": i for i in range(17)}, "more than 16 keys"),
        ({"ratio": float("nan")}, "not finite"),
    ],
)
@pytest.mark.rule("R-27")
def test_r27_decision_detail_refuses_face_data_and_bulk(
    store: Store, site: SiteInfo, detail: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRecordError, match=message):
        store.record_decision(
            site.code,
            "gate:1",
            "decision.identify",
            None,
            "reject",
            detail,  # type: ignore[arg-type]
        )
    # Only the site's own three events (created, notice, assessment): nothing was added.
    assert store.verify_audit().events_checked == 3


def test_record_decision_checks_action_and_subject(store: Store, site: SiteInfo) -> None:
    other_site = store.create_site("north-gate", "North Gate")
    stranger = store.add_subject(other_site.code, "Li Si", SubjectKind.RESIDENT)
    with pytest.raises(InvalidRecordError, match="not a decision"):
        store.record_decision(site.code, "gate:1", "subject.deleted", None, "accept")
    with pytest.raises(InvalidRecordError, match="not one of"):
        store.record_decision(site.code, "gate:1", "decision.guess", None, "accept")
    with pytest.raises(NotFoundError, match=stranger.id):
        store.record_decision(site.code, "gate:1", "decision.verify", stranger.id, "accept")
    with pytest.raises(InvalidRecordError, match="outcome argument"):
        store.record_decision(site.code, "gate:1", "decision.verify", None, "a", {"outcome": "b"})
    event_id = store.record_decision(site.code, "gate:1", "decision.identify", None, "unknown")
    assert event_id == store.verify_audit().events_checked


@pytest.mark.rule("R-27")
def test_r27_concurrent_writers_keep_one_chain(store: Store, settings: Settings) -> None:
    store.create_site("north-gate", "North Gate")
    errors: list[BaseException] = []

    def gate(number: int) -> None:
        try:
            with Store.open(settings) as own:
                for _ in range(15):
                    own.record_decision(
                        "north-gate", f"gate:{number}", "decision.identify", None, "unknown"
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=gate, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = store.verify_audit()
    assert (report.ok, report.events_checked) == (True, 1 + 4 * 15)


@pytest.mark.parametrize(
    ("column", "value"),
    [("at", "not a timestamp"), ("detail", "{not json")],
)
@pytest.mark.rule("R-28")
def test_r28_unreadable_row_is_reported_not_crashed(
    store: Store,
    site: SiteInfo,
    raw_db: sqlite3.Connection,
    backend: str,
    column: str,
    value: str,
) -> None:
    if backend == "postgresql" and column == "at":
        pytest.skip("PostgreSQL's timestamptz column refuses a value that is not a time")
    _some_history(store, site)
    _drop_trigger(raw_db, "audit_event_no_update")
    raw_db.execute(f"UPDATE audit_event SET {column} = ? WHERE id = 3", (value,))
    report = store.verify_audit()
    assert report.ok is False
    assert report.reason is not None
