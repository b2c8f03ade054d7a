"""SQLite runs with the pragmas the store relies on, and writers take the lock at BEGIN."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from facegate.core.config import Settings
from facegate.errors import StoreError
from facegate.store import Store
from facegate.store.engine import BUSY_TIMEOUT_MS, READ_ONLY, make_engine, sqlite_path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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


def test_data_dir_database_and_key_are_private(store: Store, settings: Settings) -> None:
    store.create_site("north-gate", "North Gate")
    data_dir = settings.data_dir
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "facegate.sqlite") == 0o600
    assert _mode(data_dir / "facegate.sqlite-wal") == 0o600
    assert _mode(settings.resolved_key_file) == 0o600


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
    store: Store, raw_db: sqlite3.Connection
) -> None:
    # The error and the errors it chains end up in logs (``-v``, the web service):
    # they must not hold names, hashes or ciphertext from the failed statement.
    store.create_site("north-gate", "North Gate")
    raw_db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON subject BEGIN SELECT RAISE(ABORT, 'no'); END"
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
