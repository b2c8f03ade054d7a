"""PIN guessing is slowed per typed resident number and per device, never locked.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

The per-credential lock-out (five wrong PINs locked a resident's PIN for 15 minutes) let a
stranger lock anyone out, and answered ``locked`` only for numbers that had a PIN. It is
replaced by ``guess_backoff``: wrong PINs in a row per typed number and per device, each
row a growing, capped wait. Frozen copy of the schema as of this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "guess_backoff",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("site_id", sa.String(32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_guess_backoff_site_id_site"),
        sa.PrimaryKeyConstraint("key", name="pk_guess_backoff"),
    )
    op.create_index("ix_guess_backoff_site_id", "guess_backoff", ["site_id"])
    op.create_index("ix_guess_backoff_last_failure_at", "guess_backoff", ["last_failure_at"])
    # SQLite 3.35+ drops a column in place: a batch rebuild would lose the CHECK constraints.
    op.execute("ALTER TABLE credential DROP COLUMN locked_until")
    op.execute("ALTER TABLE credential DROP COLUMN failed_attempts")


def downgrade() -> None:
    op.add_column(
        "credential",
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("credential", sa.Column("locked_until", sa.DateTime(timezone=True)))
    op.drop_index("ix_guess_backoff_last_failure_at", "guess_backoff")
    op.drop_index("ix_guess_backoff_site_id", "guess_backoff")
    op.drop_table("guess_backoff")
