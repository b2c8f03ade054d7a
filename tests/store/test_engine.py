"""SQLite runs with the pragmas the store relies on, and writers take the lock at BEGIN;
PostgreSQL writers queue on one advisory lock instead, and readers see one snapshot."""

from __future__ import annotations

import importlib.util
import re
import sqlite3
import stat
from importlib.machinery import ModuleSpec
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from facegate.core.config import Environment, Settings
from facegate.errors import ConfigError, StoreError
from facegate.store import Store
from facegate.store.engine import (
    BUSY_TIMEOUT_MS,
    READ_ONLY,
    WRITER_LOCK_KEY,
    make_engine,
    sqlite_path,
)

_TRY_WRITER_LOCK = f"SELECT pg_try_advisory_xact_lock({WRITER_LOCK_KEY})"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite_only("SQLite's pragmas")
def test_sqlite_pragmas(store: Store, settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:

            def pragma(name: str) -> object:
                return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("secure_delete") == 1
            assert pragma("busy_timeout") == BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_write_transactions_begin_immediate(store: Store, db_path: Path) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    other = sqlite3.connect(db_path, timeout=0.05, isolation_level=None)
    try:
        # No statement has run yet, and still the write lock is held.
        with engine.begin(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()


def test_read_only_transactions_read_a_snapshot_without_the_write_lock(
    store: Store, db_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{db_path}").execution_options(**{READ_ONLY: True})
    try:
        with engine.begin() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM site").scalar() == 0
            # Another writer is not blocked...
            store.create_site("north-gate", "North Gate")
            # ...and this transaction keeps its snapshot: it really is a transaction.
            assert connection.exec_driver_sql("SELECT count(*) FROM site").scalar() == 0
        assert len(store.list_sites()) == 1
    finally:
        engine.dispose()


def test_data_dir_database_and_key_are_private(
    store: Store, settings: Settings, backend: str
) -> None:
    store.create_site("north-gate", "North Gate")
    data_dir = settings.data_dir
    assert _mode(data_dir) == 0o700
    if backend == "sqlite":
        assert _mode(data_dir / "facegate.sqlite") == 0o600
        assert _mode(data_dir / "facegate.sqlite-wal") == 0o600
    else:  # The data is on the server; the keys stay in the data dir all the same.
        assert not (data_dir / "facegate.sqlite").exists()
    assert _mode(settings.resolved_key_file) == 0o600
    assert _mode(settings.resolved_keystore_path) == 0o600


def _postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("PostgreSQL's writer lock; SQLite's BEGIN IMMEDIATE is tested above")


def test_postgres_writers_hold_the_writer_lock_from_begin(
    store: Store, settings: Settings, backend: str
) -> None:
    _postgres_only(backend)
    engine = make_engine(settings.resolved_database_url)
    try:
        # The other connection reads (a writer would queue on the lock instead of trying).
        with engine.connect().execution_options(**{READ_ONLY: True}) as other:
            # No statement has run yet, and still the writer lock is held...
            with engine.begin():
                assert other.exec_driver_sql(_TRY_WRITER_LOCK).scalar() is False
                other.rollback()
            # ...until COMMIT; a reader never takes it.
            reader = engine.execution_options(**{READ_ONLY: True})
            with reader.begin() as connection:
                connection.exec_driver_sql("SELECT 1")
                assert other.exec_driver_sql(_TRY_WRITER_LOCK).scalar() is True
                other.rollback()
    finally:
        engine.dispose()


def test_postgres_readers_see_one_snapshot_and_cannot_write(
    store: Store, settings: Settings, backend: str
) -> None:
    _postgres_only(backend)
    engine = make_engine(settings.resolved_database_url).execution_options(**{READ_ONLY: True})
    try:
        with engine.begin() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM site").scalar() == 0
            # Another writer is not blocked...
            store.create_site("north-gate", "North Gate")
            # ...and this transaction keeps its snapshot, as a SQLite WAL reader does.
            assert connection.exec_driver_sql("SELECT count(*) FROM site").scalar() == 0
        assert len(store.list_sites()) == 1
        with pytest.raises(DBAPIError, match="read-only transaction"), engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM site")
    finally:
        engine.dispose()


def test_postgres_backups_refuse_and_name_pg_dump(store: Store, backend: str) -> None:
    _postgres_only(backend)
    with pytest.raises(ConfigError, match="pg_dump"):
        store.backups.create(actor="admin")


@pytest.mark.parametrize(
    "url",
    ["mysql+pymysql://u@h/db", "postgresql://facegate@localhost/facegate", "oracle://h/db"],
)
def test_only_sqlite_and_psycopg_urls_are_accepted(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        Settings(data_dir=tmp_path, env=Environment.DEVELOPMENT, database_url=url)


def test_a_postgres_url_without_psycopg_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = importlib.util.find_spec

    def no_psycopg(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "psycopg" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", no_psycopg)
    with pytest.raises(ValueError, match=re.escape("pip install 'facegate[postgres]'")):
        Settings(
            data_dir=tmp_path,
            env=Environment.DEVELOPMENT,
            database_url="postgresql+psycopg://facegate@localhost/facegate",
        )


def test_store_open_refuses_an_unsupported_database_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Settings refuse it first; a Settings built around that check still gets ConfigError.
    settings = Settings.model_construct(
        data_dir=tmp_path / "data",
        env=Environment.DEVELOPMENT,
        database_url="mysql+pymysql://u@h/db",
    )
    with pytest.raises(ConfigError, match="unsupported database 'mysql'"):
        Store.open(settings)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////var/lib/facegate/db.sqlite", Path("/var/lib/facegate/db.sqlite")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql+psycopg://facegate@localhost/facegate", None),
    ],
)
def test_sqlite_path(url: str, expected: Path | None) -> None:
    assert sqlite_path(url) == expected


def test_a_database_error_never_carries_the_values_it_was_writing(
    store: Store, raw_db: sqlite3.Connection, backend: str
) -> None:
    # The error and the errors it chains end up in logs (``-v``, the web service):
    # they must not hold names, hashes or ciphertext from the failed statement.
    store.create_site("north-gate", "North Gate")
    if backend == "sqlite":
        raw_db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON subject BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
    else:
        raw_db.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'no'; END $$"
        )
        raw_db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON subject FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    with pytest.raises(StoreError) as caught:
        store.add_subject("north-gate", "Ouyang Secretname", "resident")
    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert len(chain) > 1
    assert not [e for e in chain if "Secretname" in str(e)]
    assert "no" in str(caught.value)
