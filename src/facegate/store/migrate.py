"""Schema migrations: the only way the schema is created or changed.

The Alembic scripts ship inside the package; users need no alembic.ini.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from facegate.errors import StoreError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Alembic's ``context`` and ``op`` are module-level proxies: two threads migrating at once
# (two stores opened together) would swap each other's. Processes are serialised by the
# database: SQLite's write lock, on PostgreSQL the advisory lock below.
_ALEMBIC_LOCK = threading.Lock()
#: PostgreSQL advisory lock key held while migrating (ASCII "fg-migra"): workers started at
#: once queue, and each one after the first finds the schema at head and changes nothing.
MIGRATION_LOCK_KEY = 0x66672D6D69677261
#: The key store is a database of its own, with its own migrations.
KEYSTORE_MIGRATIONS_DIR = Path(__file__).parent / "keystore_migrations"


def alembic_config(
    connection: Connection | None = None, migrations_dir: Path = MIGRATIONS_DIR
) -> Config:
    """An Alembic config pointing at the packaged migrations, optionally bound to a connection."""
    config = Config()
    # ConfigParser interpolates '%'.
    config.set_main_option("script_location", str(migrations_dir).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


#: Called in the migration's transaction with the revision the database had before it.
AfterUpgrade = Callable[[Connection, str | None], None]


def upgrade_to_head(
    engine: Engine,
    migrations_dir: Path = MIGRATIONS_DIR,
    *,
    after_upgrade: AfterUpgrade | None = None,
) -> None:
    """Migrate the database to the newest revision, in one transaction.

    SQLite rebuilds a table to change it; with foreign keys on, dropping the old table would
    cascade into every table that references it. So, as SQLite's ALTER TABLE procedure says,
    foreign keys are off while migrating and ``foreign_key_check`` must pass before commit.
    ``after_upgrade`` finishes what a migration cannot do without the site key (sealing the
    audit head), in the same transaction, so a crash cannot leave one done without the other.
    """
    with _ALEMBIC_LOCK, engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _pragma(connection, "foreign_keys = OFF")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Transaction-level: released at COMMIT/ROLLBACK, also if the process dies.
                    connection.exec_driver_sql(
                        f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
                    )
                before = current_revision(connection)
                command.upgrade(alembic_config(connection, migrations_dir), "head")
                if after_upgrade is not None:
                    after_upgrade(connection, before)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(
                            f"migration would leave {len(broken)} broken references "
                            f"(first: {tuple(broken[0])}); nothing was changed"
                        )
        finally:
            if sqlite:
                _pragma(connection, "foreign_keys = ON")


def _pragma(connection: Connection, pragma: str) -> None:
    # On the DBAPI connection: through SQLAlchemy it would autobegin, and SQLite ignores
    # this pragma inside a transaction.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
