"""Residents by building, unit and household.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Three optional short labels on ``subject`` (a building, a unit, a room or family label), an
index the console filters a site's residents by, and one in the list's order (shorter labels
first, so building "2" comes before "10"), so any page of 20,000 is read without sorting.
Nothing else personal is added: no ID number, no phone (R-12). Frozen copy of the schema as
of this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_subject_site_id_building_unit_household"
_ORDER_INDEX = "ix_subject_list_order"
#: Frozen copy of ``schema.SUBJECT_LIST_ORDER``: the console's list order.
_ORDER = (
    "length(building)",
    "building",
    "length(unit)",
    "unit",
    "length(household)",
    "household",
    "display_name",
    "id",
)


def upgrade() -> None:
    op.add_column("subject", sa.Column("building", sa.String(16), nullable=True))
    op.add_column("subject", sa.Column("unit", sa.String(16), nullable=True))
    op.add_column("subject", sa.Column("household", sa.String(32), nullable=True))
    op.create_index(_INDEX, "subject", ["site_id", "building", "unit", "household"])
    filtered = ("resident_number", "moved_out_at", "minor_until", "kind")
    columns = [sa.text(c) for c in ("site_id", "status", *_ORDER, *filtered)]
    op.create_index(_ORDER_INDEX, "subject", columns)


def downgrade() -> None:
    op.drop_index(_ORDER_INDEX, "subject")
    op.drop_index(_INDEX, "subject")
    # SQLite 3.35+ drops a column in place: a batch rebuild would lose the CHECK constraints.
    for column in ("household", "unit", "building"):
        op.execute(f"ALTER TABLE subject DROP COLUMN {column}")
