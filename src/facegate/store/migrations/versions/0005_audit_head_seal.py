"""Audit head seal: ``audit_head`` carries a MAC under a key derived from the site key (R-27).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

Without it, an attacker with raw database access could drop the triggers, delete the newest
events and point ``audit_head`` at the new last (authentic) event. The column is added
NULL: a migration has no site key, so ``Store.open`` seals the head in the same transaction
right after upgrading from an earlier revision (``audit.seal_after_upgrade``). A NULL seal
found later is tampering, never sealed again.

The trigger that lets ``audit_head`` only advance now also allows sealing an unsealed head
in place, once, and refuses taking a seal away. Frozen copies of both trigger versions.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGER = "audit_head_only_advances"

_SEALED_TRIGGER = """
    CREATE TRIGGER audit_head_only_advances BEFORE UPDATE ON audit_head
    WHEN NEW.id IS NOT OLD.id
      OR (OLD.head_mac IS NOT NULL AND NEW.head_mac IS NULL)
      OR NOT (
        (NEW.last_id IS OLD.last_id + 1
          AND EXISTS (
            SELECT 1 FROM audit_event WHERE id = NEW.last_id AND hash = NEW.last_hash))
        OR (OLD.head_mac IS NULL
          AND NEW.last_id IS OLD.last_id
          AND NEW.last_hash IS OLD.last_hash))
    BEGIN SELECT RAISE(ABORT, 'audit_head only advances to the newest audit_event'); END"""

# As revision 0001 created it.
_UNSEALED_TRIGGER = """
    CREATE TRIGGER audit_head_only_advances BEFORE UPDATE ON audit_head
    WHEN NEW.id IS NOT OLD.id
      OR NEW.last_id IS NOT OLD.last_id + 1
      OR NOT EXISTS (
        SELECT 1 FROM audit_event WHERE id = NEW.last_id AND hash = NEW.last_hash)
    BEGIN SELECT RAISE(ABORT, 'audit_head only advances to the newest audit_event'); END"""


# PostgreSQL: revision 0001's trigger calls a function of the same name; replacing the
# function's body changes the check in place (IS DISTINCT FROM is SQLite's IS NOT).
_PG_SEALED_FUNCTION = """
    CREATE OR REPLACE FUNCTION audit_head_only_advances() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id IS DISTINCT FROM OLD.id
         OR (OLD.head_mac IS NOT NULL AND NEW.head_mac IS NULL)
         OR NOT (
           (NEW.last_id IS NOT DISTINCT FROM OLD.last_id + 1
             AND EXISTS (
               SELECT 1 FROM audit_event WHERE id = NEW.last_id AND hash = NEW.last_hash))
           OR (OLD.head_mac IS NULL
             AND NEW.last_id IS NOT DISTINCT FROM OLD.last_id
             AND NEW.last_hash IS NOT DISTINCT FROM OLD.last_hash))
      THEN RAISE EXCEPTION 'audit_head only advances to the newest audit_event'; END IF;
      RETURN NEW;
    END $$"""

# As revision 0001 created it.
_PG_UNSEALED_FUNCTION = """
    CREATE OR REPLACE FUNCTION audit_head_only_advances() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id IS DISTINCT FROM OLD.id
         OR NEW.last_id IS DISTINCT FROM OLD.last_id + 1
         OR NOT EXISTS (
           SELECT 1 FROM audit_event WHERE id = NEW.last_id AND hash = NEW.last_hash)
      THEN RAISE EXCEPTION 'audit_head only advances to the newest audit_event'; END IF;
      RETURN NEW;
    END $$"""


def upgrade() -> None:
    op.add_column("audit_head", sa.Column("head_mac", sa.String(64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_SEALED_FUNCTION)
        return
    op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER}")
    op.execute(_SEALED_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The function goes back first: it must not name the column once it is gone.
        op.execute(_PG_UNSEALED_FUNCTION)
        op.execute("ALTER TABLE audit_head DROP COLUMN head_mac")
        return
    # The trigger names the column: it goes first, or SQLite refuses the DROP COLUMN.
    op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER}")
    op.execute("ALTER TABLE audit_head DROP COLUMN head_mac")
    op.execute(_UNSEALED_TRIGGER)
