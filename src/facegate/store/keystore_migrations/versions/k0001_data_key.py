"""Key store: one wrapped data key per owner (a subject or a kept frame).

Revision ID: k0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "k0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_key",
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("site_id", sa.String(32), nullable=False),
        sa.Column(
            "owner_kind",
            sa.Enum(
                "subject",
                "snapshot",
                name="key_owner_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", name="pk_data_key"),
        sa.CheckConstraint("length(wrapped_key) = 60", name="ck_data_key_wrapped_key_length"),
    )


def downgrade() -> None:
    op.drop_table("data_key")
