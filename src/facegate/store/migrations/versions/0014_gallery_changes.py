"""Gallery change log for incremental indexes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

``gallery_change``: one row per bump of ``site.gallery_version`` naming the subject whose
usable templates changed (NULL: anything may have changed, e.g. a widening notice), so a
cached gallery can be brought up to date by re-reading only those subjects' templates.
Plain ``create_table`` with named constraints: the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 32


def upgrade() -> None:
    op.create_table(
        "gallery_change",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(_ID), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(_ID), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gallery_change"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_gallery_change_site_id_site"),
    )
    op.create_index("ix_gallery_change_site_id_version", "gallery_change", ["site_id", "version"])


def downgrade() -> None:
    op.drop_index("ix_gallery_change_site_id_version", "gallery_change")
    op.drop_table("gallery_change")
