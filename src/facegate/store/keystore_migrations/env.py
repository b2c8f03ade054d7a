"""Alembic environment of the key store. Runs only on the connection that
``facegate.store.keystore`` hands over."""

from __future__ import annotations

from alembic import context

from facegate.store.keystore_schema import KeyBase

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=KeyBase.metadata,
    render_as_batch=True,
    transactional_ddl=True,
    version_table="keystore_version",
)
with context.begin_transaction():
    context.run_migrations()
