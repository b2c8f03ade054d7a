"""Database engine setup. SQLite gets the pragmas that the store's guarantees rest on."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

#: How long a writer waits for another writer before "database is locked".
BUSY_TIMEOUT_MS = 10_000
#: Execution option marking a session that never writes: it may BEGIN DEFERRED.
READ_ONLY = "facegate_read_only"

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
    engine = create_engine(url, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


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


def fsync_path(path: Path) -> None:
    """Flush a file or a directory (after ``os.replace``, the directory entry) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
