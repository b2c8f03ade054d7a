"""Staff accounts with roles, and idempotency keys for creates (owned by the accounts work).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

``admin_account.role`` (admin | operator | auditor, CHECK): every account made before this
revision was a site administrator and stays one. ``idempotency_record`` keeps the first
answer to a create sent with an ``Idempotency-Key`` (never a one-time secret in it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A column CHECK added in place (SQLite 3.35+ drops such a column again): a batch
    # rebuild of admin_account would be needed for a table CHECK.
    op.execute(
        "ALTER TABLE admin_account ADD COLUMN role VARCHAR(16) DEFAULT 'admin' NOT NULL"
        " CONSTRAINT ck_admin_account_role CHECK (role IN ('admin', 'operator', 'auditor'))"
    )
    op.create_table(
        "idempotency_record",
        sa.Column("principal", sa.String(100), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name="pk_idempotency_record"),
    )
    op.create_index("ix_idempotency_record_created_at", "idempotency_record", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_record_created_at", "idempotency_record")
    op.drop_table("idempotency_record")
    op.execute("ALTER TABLE admin_account DROP COLUMN role")
