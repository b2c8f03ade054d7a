"""Key store: the revocation log (credentials, devices, admin passwords, move-outs).

Revision ID: k0003
Revises: k0002
Create Date: 2026-12-02

Like the erasure log, kept beside the keys and never in a backup of the main database, so
restoring an old backup can carry forward every revocation made since (``store.revocations``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "k0003"
down_revision: str | None = "k0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revocation_log",
        sa.Column(
            "target_kind",
            sa.Enum(
                "credential",
                "device",
                "admin_password",
                "move_out",
                name="revoked_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("target_id", sa.String(32), nullable=False),
        sa.Column("site_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("target_kind", "target_id", name="pk_revocation_log"),
    )


def downgrade() -> None:
    op.drop_table("revocation_log")
