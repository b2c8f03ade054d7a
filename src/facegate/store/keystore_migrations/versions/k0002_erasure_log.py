"""Key store: the erasure log (ids of erased subjects and withdrawn consents).

Revision ID: k0002
Revises: k0001
Create Date: 2026-11-24

Kept beside the keys, and like them never in a backup of the main database, so restoring
an old backup can replay the erasures made since (``store.reconcile``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "k0002"
down_revision: str | None = "k0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure_log",
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column(
            "owner_kind",
            sa.Enum(
                "subject",
                "consent",
                name="erased_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("site_id", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", name="pk_erasure_log"),
    )


def downgrade() -> None:
    op.drop_table("erasure_log")
