"""Alembic environment. Runs on the connection ``facegate.store.migrate`` hands over, or, when
a developer runs the ``alembic`` command (``alembic -c src/facegate/store/alembic.ini ...``),
on the database named by the FACEGATE_* settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from facegate.core.config import load_settings
from facegate.store.engine import check_supported, make_engine, prepare_sqlite_file
from facegate.store.schema import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead. PostgreSQL
        # alters in place (the revisions branch on the dialect where they differ).
        render_as_batch=sqlite,
        # With the engine's explicit BEGIN, SQLite DDL is transactional: a migration that
        # dies half-way leaves the schema as it was. PostgreSQL's DDL is transactional anyway.
        transactional_ddl=True if sqlite else None,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or load_settings().resolved_database_url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    url = _url()
    check_supported(url)
    prepare_sqlite_file(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()
