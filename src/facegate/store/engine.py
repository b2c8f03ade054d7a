"""Database engine setup. SQLite gets the pragmas that the store's guarantees rest on;
PostgreSQL gets the writer lock that stands in for SQLite's ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from facegate.errors import ConfigError

logger = logging.getLogger(__name__)

#: How long a writer waits for another writer before "database is locked".
BUSY_TIMEOUT_MS = 10_000
#: Execution option marking a session that never writes: it may BEGIN DEFERRED.
READ_ONLY = "facegate_read_only"
#: The dialects whose migrations and guarantees are written (triggers, writer lock).
SUPPORTED_DIALECTS = ("sqlite", "postgresql")
#: PostgreSQL advisory lock key every writing transaction holds (ASCII "facegate", as int64):
#: facegate's writers run one at a time, as under SQLite's single writer lock.
WRITER_LOCK_KEY = 0x6661636567617465

_SQLITE_PRAGMAS = (
    f"busy_timeout = {BUSY_TIMEOUT_MS}",
    # Readers do not block the writer, and a killed process never leaves a torn write.
    "journal_mode = WAL",
    "synchronous = FULL",
    "foreign_keys = ON",
    # Deleted rows (shredded keys, templates) are overwritten with zeros, not left in free pages.
    "secure_delete = ON",
)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite is configured for WAL, foreign keys and secure delete."""
    # Errors and their tracebacks go to logs: never with the names, hashes or ciphertext
    # of the statement that failed.
    backend = make_url(url).get_backend_name()
    # A server may drop idle connections (restart, failover): check each one out alive.
    engine = create_engine(url, hide_parameters=True, pool_pre_ping=backend != "sqlite")
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif engine.dialect.name == "postgresql":
        _configure_postgresql(engine)
    return engine


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_supported(url: str) -> None:
    """Raise ``ConfigError`` unless ``url`` is a database the store is written for."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"FACEGATE_DATABASE_URL is not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    # The same rule as Settings' check: PostgreSQL through psycopg 3 only (the driver the
    # extra installs and the tests run).
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise ConfigError(
            f"unsupported PostgreSQL driver {parsed.get_driver_name()!r}: use "
            "postgresql+psycopg://... (psycopg 3, facegate[postgres])"
        )
    if backend not in SUPPORTED_DIALECTS:
        raise ConfigError(
            f"unsupported database {backend!r}: use SQLite (sqlite:///<file>) or PostgreSQL "
            "(postgresql+psycopg://...); the audit log's triggers are written for those only"
        )
    if backend == "sqlite" and sqlite_path(url) is None:
        raise ConfigError("an in-memory SQLite database loses everything: name a file")


def has_schema(engine: Engine) -> bool:
    """Whether the database already holds facegate data (the site key must then exist).

    SQLite: a non-empty file (without connecting, which would create it). PostgreSQL: the
    database has Alembic's version table.
    """
    if engine.dialect.name == "sqlite":
        path = sqlite_path(str(engine.url))
        return path is not None and path.exists() and path.stat().st_size > 0
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        found = connection.exec_driver_sql("SELECT to_regclass('alembic_version')").scalar()
    return found is not None


def prepare_sqlite_file(url: str) -> None:
    """For a SQLite file URL, create the file's directory (0700) and the file itself (0600).

    SQLite gives its -wal and -shm files the main file's permissions, so all three stay
    private. Other URLs are left alone.
    """
    path = sqlite_path(url)
    if path is None:
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def checkpoint_wal(engine: Engine) -> None:
    """Move the WAL into the database file and truncate it, so that rows just deleted with
    ``secure_delete`` do not linger in old WAL frames. Best effort: a busy reader can keep
    frames alive until the next checkpoint.
    """
    if engine.dialect.name != "sqlite":
        # PostgreSQL has no secure_delete: a deleted row's bytes stay in the table file and
        # its WAL until VACUUM reuses the page. Templates are safe anyway: their data keys
        # live in the SQLite key store, which does shred them (crypto-erasure, R-23).
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # Runs outside any transaction: the connection has isolation_level None.
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()
        cursor.close()
    finally:
        raw.close()
    if row is not None and row[0]:
        logger.warning("WAL checkpoint was blocked by a reader; deleted rows leave it later")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite must not BEGIN on its own; _on_begin below does it (SQLAlchemy's recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of both reading
        # the same audit_head and one failing at COMMIT: the hash chain stays serial.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # A writer waits for another as long as SQLite's busy timeout, then fails, instead of
        # hanging forever behind a stuck one.
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET lock_timeout = {BUSY_TIMEOUT_MS}")
        # The store binds aware UTC times; UTC sessions also read them back (and now()) in UTC
        # whatever the server's own zone.
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
        dbapi_connection.commit()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Under READ COMMITTED two writers could both read audit_head, both extend it, and
        # the chain's trigger would pass for each (neither sees the other's uncommitted row):
        # one would fork the hash chain. So every writing transaction first takes one
        # transaction-level advisory lock, the same queue SQLite's BEGIN IMMEDIATE gives; it
        # is released at COMMIT or ROLLBACK, also when the process dies. Readers skip it and,
        # like SQLite's WAL readers, see one snapshot for the whole transaction (verifying the
        # audit log reads the events, then the head); READ ONLY makes a stray write fail.
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")


def fsync_path(path: Path) -> None:
    """Flush a file or a directory (after ``os.replace``, the directory entry) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
