"""The schema comes from the packaged Alembic migrations and matches the ORM models."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, Integer, MetaData, func, inspect, select, text

from facegate.core.config import Environment, Settings
from facegate.errors import ConsentRequiredError, KeyMaterialError
from facegate.store import AuditAction, DeletionReason, Store, SubjectKind, SubjectStatus
from facegate.store.audit import chain_hash
from facegate.store.audit_anchor import load_receipt
from facegate.store.crypto import SiteKey, encrypt_template, load_site_key, new_data_key
from facegate.store.engine import make_engine, prepare_sqlite_file
from facegate.store.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from facegate.store.schema import Base, SubjectKey, new_id

from .helpers import MODEL, random_embeddings

SRC = Path(__file__).resolve().parents[2] / "src" / "facegate"


def _schema_diff(settings: Settings, metadata: MetaData) -> list[object]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_migrated_schema_matches_orm_metadata(store: Store, settings: Settings) -> None:
    assert _schema_diff(settings, Base.metadata) == []


def test_schema_comparison_notices_a_difference(store: Store, settings: Settings) -> None:
    # Guards the test above against comparing nothing.
    altered = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(altered)
    altered.tables["template"].append_column(Column("image", Integer))
    assert len(_schema_diff(settings, altered)) == 1


def test_database_is_at_the_packaged_head(store: Store, settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision() == "0014"
    finally:
        engine.dispose()


def test_reopening_keeps_data_and_revision(store: Store, settings: Settings) -> None:
    store.create_site("north-gate", "North Gate")
    store.close()
    with Store.open(settings) as reopened:
        assert [site.code for site in reopened.list_sites()] == ["north-gate"]
        assert reopened.verify_audit().ok


def test_downgrade_to_base_and_upgrade_again(store: Store, settings: Settings) -> None:
    store.close()
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()
    assert _schema_diff(settings, Base.metadata) == []


def test_production_code_never_creates_tables_from_metadata() -> None:
    offenders = [
        path.relative_to(SRC)
        for path in (SRC / "store").rglob("*.py")
        if "create_all" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_missing_key_in_production_creates_no_database(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        env=Environment.PRODUCTION,
        key_file=tmp_path / "absent.key",
    )
    with pytest.raises(KeyMaterialError, match=r"absent\.key"):
        Store.open(settings)
    assert not (tmp_path / "data" / "facegate.sqlite").exists()
    assert not (tmp_path / "absent.key").exists()


# A real revision-0001 database with data, as 0001's code wrote it.

_AT_0001 = "2025-12-01 09:00:00.000000"


def append_unsealed(connection: Connection, site_key: SiteKey, action: AuditAction) -> int:
    """Append an audit event as the code before revision 0005 did: ``audit_head`` advances
    without a seal. Returns the event's id."""
    last_id, last_hash = connection.execute(
        text("SELECT last_id, last_hash FROM audit_head WHERE id = 1")
    ).one()
    event_id = int(last_id) + 1
    digest = chain_hash(
        site_key.audit_key,
        last_hash,
        event_id=event_id,
        at=datetime.fromisoformat(_AT_0001).replace(tzinfo=UTC),
        actor="operator:li",
        action=str(action),
        site_id=None,
        subject_id=None,
        detail="{}",
    )
    values = {"id": event_id, "at": _AT_0001, "action": str(action), "prev": last_hash}
    connection.execute(
        text(
            "INSERT INTO audit_event (id, at, actor, action, detail, prev_hash, hash)"
            " VALUES (:id, :at, 'operator:li', :action, '{}', :prev, :hash)"
        ),
        {**values, "hash": digest},
    )
    connection.execute(
        text("UPDATE audit_head SET last_id = :id, last_hash = :hash WHERE id = 1"),
        {"id": event_id, "hash": digest},
    )
    return event_id


def _database_at_0001(settings: Settings) -> dict[str, object]:
    """Build a revision-0001 database holding a site, an active resident with a consent, a
    data key in ``subject_key`` and one template, an active visitor without an end date and
    a tombstone; returns their ids and the resident's data key and embedding."""
    settings.data_dir.mkdir(mode=0o700, parents=True)
    site_key = load_site_key(settings)
    url = settings.resolved_database_url
    prepare_sqlite_file(url)
    ids = {name: new_id() for name in ("site", "resident", "visitor", "gone", "consent", "tpl")}
    data_key = new_data_key()
    vector = random_embeddings(1)[0]
    nonce, ciphertext = encrypt_template(
        data_key,
        vector,
        site_id=ids["site"],
        subject_id=ids["resident"],
        template_id=ids["tpl"],
        model_name=MODEL,
    )
    wrapped = site_key.wrap_data_key(data_key, site_id=ids["site"], subject_id=ids["resident"])
    rows: list[tuple[str, dict[str, object]]] = [
        ("INSERT INTO site VALUES (:site, 'old-garden', 'Old Garden', :at)", {}),
        (
            "INSERT INTO subject VALUES (:resident, :site, 'Zhang San', 'resident', 'active', "
            ":at, NULL)",
            {},
        ),
        (
            "INSERT INTO subject VALUES (:visitor, :site, 'Guest', 'visitor', 'active', :at, NULL)",
            {},
        ),
        ("INSERT INTO subject VALUES (:gone, :site, NULL, 'resident', 'deleted', :at, :at)", {}),
        (
            "INSERT INTO consent VALUES (:consent, :resident, '2025-1', :at, 'signature', "
            "'Zhang San', 'operator:li', NULL)",
            {},
        ),
        ("INSERT INTO subject_key VALUES (:resident, :wrapped, :at)", {"wrapped": wrapped}),
        (
            "INSERT INTO template VALUES (:tpl, :resident, :consent, :model, :nonce, :ct, 0.9, "
            ":at)",
            {"model": MODEL, "nonce": nonce, "ct": ciphertext},
        ),
    ]
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
            for sql, extra in rows:
                connection.execute(text(sql), {**ids, "at": _AT_0001, **extra})
            append_unsealed(connection, site_key, AuditAction.SITE_CREATED)
    finally:
        engine.dispose()
    return {**ids, "data_key": data_key, "vector": vector}


def _revision(settings: Settings) -> str | None:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()


def test_a_revision_0001_database_with_data_upgrades_on_open(settings: Settings) -> None:
    old = _database_at_0001(settings)
    resident = str(old["resident"])
    with Store.open(settings) as store:
        assert _revision(settings) == head_revision()
        assert store.verify_audit().ok
        # The data survives, and the legacy key moved out of the main database.
        assert store.keystore.get(resident, str(old["site"])) == old["data_key"]
        with store.reading() as session:
            assert session.scalar(select(func.count()).select_from(SubjectKey)) == 0
        info = store.get_subject(resident)
        assert (info.display_name, info.kind, info.template_count) == (
            "Zhang San",
            SubjectKind.RESIDENT,
            1,
        )
        assert store.get_subject(str(old["gone"])).status is SubjectStatus.DELETED
        # Revision 0004 gave every subject, tombstones too, its own resident number.
        numbers = [
            s.resident_number for s in store.list_subjects("old-garden", include_deleted=True)
        ]
        assert len(numbers) == 3
        assert all(n is not None and len(n) == 6 and n.isdigit() for n in numbers)
        assert len(set(numbers)) == 3
        added = store.add_subject("old-garden", "Li Si", SubjectKind.RESIDENT)
        assert added.resident_number not in numbers
        assert store.get_site("old-garden").name == "Old Garden"
        # The legacy consent is kept as a record but allows no face processing.
        (consent,) = store.consents.list(resident)
        assert (consent.notice_version, consent.expires_at) == ("2025-1", None)
        assert not info.has_active_consent
        with pytest.raises(ConsentRequiredError):
            store.load_subject_templates(resident, MODEL, "gate:1", "verify")
        assert len(store.load_gallery("old-garden", MODEL, "gate:1", "identify")) == 0
        # A visitor from 0001 had no end: their stay ends at the upgrade.
        visitor = store.get_subject(str(old["visitor"]))
        assert visitor.status is SubjectStatus.ACTIVE
        assert visitor.expires_at is not None
        assert visitor.expires_at <= datetime.now(UTC)
        # The template still decrypts with the moved key: reconcile erased nothing.
        assert store.last_reconcile is not None
        assert store.last_reconcile.templates_erased == 0


def test_a_migrated_0001_database_downgrades_with_its_data(settings: Settings) -> None:
    old = _database_at_0001(settings)
    Store.open(settings).close()
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            # As in ``upgrade_to_head``: rebuilding a SQLite table needs foreign keys off.
            if sqlite:
                connection.connection.cursor().execute("PRAGMA foreign_keys = OFF")
            with connection.begin():
                command.downgrade(alembic_config(connection), "0001")
                if sqlite:
                    check = connection.exec_driver_sql("PRAGMA foreign_key_check")
                    assert check.fetchall() == []
            counts = {
                table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                for table in ("site", "subject", "consent", "template")
            }
            kinds = {
                str(subject_id): str(kind)
                for subject_id, kind in connection.exec_driver_sql("SELECT id, kind FROM subject")
            }
    finally:
        engine.dispose()
    assert _revision(settings) == "0001"
    assert counts == {"site": 1, "subject": 3, "consent": 1, "template": 1}
    assert kinds[str(old["visitor"])] == "visitor"
    # And up again: the template still decrypts with the key in the key store.
    with Store.open(settings) as store:
        assert store.get_subject(str(old["resident"])).template_count == 1
        assert store.last_reconcile is not None
        assert store.last_reconcile.templates_erased == 0


@pytest.mark.rule("R-24", "R-07")
def test_retention_purges_templates_under_a_consent_migrated_from_0001(
    settings: Settings,
) -> None:
    # Such a consent never becomes usable (and has no end), so nothing can ever use its
    # templates: they go at the next run instead of staying for good.
    old = _database_at_0001(settings)
    resident = str(old["resident"])
    with Store.open(settings) as store:
        report = store.retention.run()
        assert report.consents_expired == 1
        receipt = next(r for r in report.receipts if r.subject_id == resident)
        assert (receipt.templates_deleted, receipt.keys_destroyed) == (1, 1)
        assert (receipt.reason, receipt.subject_erased) == (DeletionReason.EXPIRY, False)
        assert store.get_subject(resident).template_count == 0
        assert store.keystore.get(resident, str(old["site"])) is None


def _database_at_0004(settings: Settings) -> int:
    """A revision-0004 database whose audit log holds three events, its head unsealed (as
    0004's code left it); returns the newest event's id."""
    settings.data_dir.mkdir(mode=0o700, parents=True)
    site_key = load_site_key(settings)
    url = settings.resolved_database_url
    prepare_sqlite_file(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0004")
            for action in (
                AuditAction.SITE_CREATED,
                AuditAction.NOTICE_PUBLISHED,
                AuditAction.ASSESSMENT_RECORDED,
            ):
                last = append_unsealed(connection, site_key, action)
    finally:
        engine.dispose()
    return last


@pytest.mark.rule("R-27")
def test_r27_a_revision_0004_database_is_sealed_on_upgrade_and_verifies(
    settings: Settings,
) -> None:
    last = _database_at_0004(settings)
    with Store.open(settings) as store:
        assert _revision(settings) == head_revision()
        report = store.verify_audit()
        assert (report.ok, report.events_checked, report.receipt_found) == (True, last, False)
        store.create_site("north-gate", "North Gate")
        assert store.verify_audit().ok
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            head = connection.execute(text("SELECT last_id, head_mac FROM audit_head")).one()
    finally:
        engine.dispose()
    assert head.last_id == last + 1
    assert head.head_mac is not None
    receipt = load_receipt(settings.resolved_audit_receipt_path, store.site_key).receipt
    assert receipt is not None
    assert receipt.last_id == last + 1
    # Opening again seals nothing new and finds it intact.
    with Store.open(settings) as store:
        assert store.verify_audit().ok


def _upgrade_in_child(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()


#: Workers that start at once on a new PostgreSQL database.
_STARTING_WORKERS = 4


def test_postgres_workers_starting_at_once_migrate_once(postgres_url: str) -> None:
    # Forked, as a server's workers are: each its own connection and Alembic state.
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_upgrade_in_child, args=(postgres_url,))
        for _ in range(_STARTING_WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * _STARTING_WORKERS
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            versions = connection.exec_driver_sql("SELECT count(*) FROM alembic_version")
            assert versions.scalar() == 1
            heads = connection.exec_driver_sql("SELECT count(*) FROM audit_head")
            assert heads.scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.rule("R-10")
def test_the_migrated_schema_refuses_a_face_only_gate_written_around_the_api(
    store: Store, raw_db: sqlite3.Connection
) -> None:
    # TRUE/FALSE: flags both databases read (PostgreSQL's boolean refuses 0/1).
    site = store.create_site("north-gate", "North Gate")
    with pytest.raises(sqlite3.IntegrityError, match="non_face_credential"):
        raw_db.execute(
            "INSERT INTO gate (id, site_id, code, name, accepts_face, accepts_card, accepts_pin,"
            " accepts_otp, liveness, created_at) VALUES (?, ?, 'raw', 'Raw', TRUE, FALSE, FALSE,"
            " FALSE, 'passive', '2025-01-01 00:00:00.000000')",
            ("f" * 32, site.id),
        )
    assert raw_db.execute("SELECT count(*) FROM gate").fetchone() == (0,)
