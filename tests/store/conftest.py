"""Fixtures for the store tests: a fresh data dir, an open store with one site, raw DB access.

``settings`` (and so ``store``) runs each test on SQLite and on PostgreSQL (the second skips
without ``$FACEGATE_TEST_POSTGRES_URL``: ``bash .ci/with-postgres pytest tests/store``).
A test about something only SQLite has (its files, pragmas, backup API) is marked
``@pytest.mark.sqlite_only("why")``.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from facegate.core.config import Environment, Settings
from facegate.store import SiteInfo, Store

from .helpers import ready_site

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
#: SQLite's positional parameter, outside quoted strings.
_QMARK = re.compile(r"\?(?=(?:[^']*'[^']*')*[^']*$)")


@pytest.fixture(autouse=True)
def _no_facegate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read FACEGATE_* variables; a developer's shell must not leak into tests.
    for name in list(os.environ):
        if name.startswith("FACEGATE_"):
            monkeypatch.delenv(name)


#: The modules whose tests also run on PostgreSQL: where the two databases could differ
#: (triggers, constraints, migrations, the writer lock, time types, erasure, crash safety).
#: The rest is the same SQL through the same ORM; running all of tests/store twice would
#: more than double its time on a 2-core machine (see the report of issue 16).
POSTGRES_MODULES = frozenset(
    {
        "test_accounts",
        "test_assessments",
        "test_audit",
        "test_audit_anchor",
        "test_consent",
        "test_consent_ledger",
        "test_crash_safety",
        "test_deletion",
        "test_encryption_at_rest",
        "test_engine",
        "test_erasure",
        "test_erasure_copies",
        "test_face_data_access",
        "test_gallery_updates",
        "test_gates",
        "test_incidents",
        "test_migrations",
    }
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rpartition(".")[2]
    if "backend" in metafunc.fixturenames and module in POSTGRES_MODULES:
        metafunc.parametrize("backend", [SQLITE, POSTGRESQL], indirect=True)


@pytest.fixture
def settings(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    database_url = None
    if backend == POSTGRESQL:
        database_url = request.getfixturevalue("postgres_url")
        # The CLI, run in-process by some tests, finds the database as a deployment's would.
        monkeypatch.setenv("FACEGATE_DATABASE_URL", database_url)
    return Settings(
        data_dir=tmp_path / "data", env=Environment.DEVELOPMENT, database_url=database_url
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with Store.open(settings) as opened:
        yield opened


@pytest.fixture
def site(store: Store) -> SiteInfo:
    return ready_site(store)


@pytest.fixture
def db_path(settings: Settings, backend: str) -> Path:
    if backend != SQLITE:
        pytest.skip("reads the SQLite database file itself")
    return settings.data_dir / "facegate.sqlite"


class PostgresRawDb:
    """A raw autocommit psycopg connection, as an attacker or a DBA would have it, speaking
    the slice of ``sqlite3.Connection`` the tests use, so that one test proves a guarantee on
    both databases:

    - ``execute(sql, params)`` with SQLite's ``?`` placeholders; ``iterdump()`` (every row
      of every table, as text); ``DROP TRIGGER name`` (PostgreSQL also names the table);
      SQLite's ``zeroblob(n)``, defined in the test database;
    - values read back as SQLite stores them: times as UTC text, dates as text, 0/1 flags;
    - a refusal by the database comes out as ``sqlite3.IntegrityError`` led by SQLite's words
      for the same constraint (``NOT NULL constraint failed: table.column``, ``CHECK
      constraint failed: name``, ...) and PostgreSQL's message; a trigger's RAISE keeps its
      own message, which the migrations write the same on both.
    """

    def __init__(self, url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self._connection = psycopg.connect(url.replace("+psycopg", ""), autocommit=True)
        self._connection.execute("SET TIME ZONE 'UTC'")
        _load_as_sqlite_stores(self._connection)
        self._connection.execute(
            "CREATE OR REPLACE FUNCTION zeroblob(integer) RETURNS bytea LANGUAGE sql IMMUTABLE"
            " AS $$ SELECT decode(repeat('00', $1), 'hex') $$"
        )

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        errors = self._psycopg.errors
        dropped = _DROP_TRIGGER.fullmatch(sql.strip())
        if dropped is not None:
            sql = f"{sql} ON {self._trigger_table(dropped.group(1))}"
        table_info = _TABLE_INFO.fullmatch(sql.strip())
        if table_info is not None:
            sql, params = _TABLE_INFO_SQL, (table_info.group(1),)
        if params:
            sql = _QMARK.sub("%s", sql.replace("%", "%%"))
        try:
            return self._connection.execute(sql, tuple(params) or None)
        except errors.RaiseException as exc:
            raise sqlite3.IntegrityError(exc.diag.message_primary or str(exc)) from exc
        except errors.IntegrityError as exc:
            raise sqlite3.IntegrityError(f"{_sqlite_words(exc)} ({exc})") from exc

    def iterdump(self) -> Iterator[str]:
        tables = self._connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
        for (table,) in tables:
            for (row,) in self._connection.execute(f'SELECT t::text FROM "{table}" AS t'):
                yield f"{table} {row}"

    def close(self) -> None:
        self._connection.close()

    def _trigger_table(self, trigger: str) -> str:
        row = self._connection.execute(
            "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = %s", (trigger,)
        ).fetchone()
        return str(row[0]) if row is not None else "unknown_table"


_TABLE_INFO = re.compile(r"PRAGMA table_info\((\w+)\)", re.IGNORECASE)
#: SQLite's table_info rows (cid, name, type, notnull, dflt_value, pk); bytea is SQLite's BLOB.
_TABLE_INFO_SQL = (
    "SELECT ordinal_position - 1, column_name,"
    " CASE WHEN data_type = 'bytea' THEN 'BLOB' ELSE upper(data_type) END,"
    " (is_nullable = 'NO')::int, column_default, 0"
    " FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ?"
    " ORDER BY ordinal_position"
)
_DROP_TRIGGER = re.compile(r"DROP TRIGGER (?:IF EXISTS )?(\w+)", re.IGNORECASE)


def _sqlite_words(exc: Any) -> str:
    """SQLite's wording for the constraint a psycopg IntegrityError names."""
    diag = exc.diag
    kind = type(exc).__name__
    if kind == "NotNullViolation":
        return f"NOT NULL constraint failed: {diag.table_name}.{diag.column_name}"
    if kind == "CheckViolation":
        return f"CHECK constraint failed: {diag.constraint_name}"
    if kind == "UniqueViolation":
        return f"UNIQUE constraint failed: {diag.constraint_name}"
    if kind == "ForeignKeyViolation":
        return "FOREIGN KEY constraint failed"
    return "constraint failed"


def _load_as_sqlite_stores(connection: Any) -> None:
    """Read times, dates and flags back as the text and integers SQLite keeps."""
    from psycopg.types.bool import BoolLoader
    from psycopg.types.datetime import DateLoader, TimestamptzLoader

    class SqliteTime(TimestamptzLoader):
        def load(self, data: Any) -> Any:
            return super().load(data).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    class SqliteDate(DateLoader):
        def load(self, data: Any) -> Any:
            return super().load(data).isoformat()

    class SqliteFlag(BoolLoader):
        def load(self, data: Any) -> Any:
            return int(super().load(data))

    connection.adapters.register_loader("timestamptz", SqliteTime)
    connection.adapters.register_loader("date", SqliteDate)
    connection.adapters.register_loader("bool", SqliteFlag)


@pytest.fixture
def raw_db(settings: Settings, backend: str) -> Iterator[Any]:
    """A raw connection to the database, as an attacker or a DBA would have it.

    SQLite: autocommit, with foreign keys on (SQLite's default is off, per connection).
    PostgreSQL: ``PostgresRawDb``.
    """
    if backend == POSTGRESQL:
        assert settings.database_url is not None
        postgres = PostgresRawDb(settings.database_url)
        try:
            yield postgres
        finally:
            postgres.close()
        return
    connection = sqlite3.connect(settings.data_dir / "facegate.sqlite", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    try:
        yield connection
    finally:
        connection.close()
