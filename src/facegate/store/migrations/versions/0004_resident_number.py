"""Resident numbers: what a resident types at the PIN pad instead of the subject id (R-11).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Every existing subject, tombstones included, gets six random digits unique within its
site. Nothing personal goes into them. The column is added nullable (SQLite adds columns
without a table rebuild that way) and every row is filled before the unique index exists.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_subject_site_id_resident_number"


def _draw(taken: set[str]) -> str:
    # Frozen copy of schema.new_resident_number: six digits, no leading zero.
    while True:
        number = str(100_000 + secrets.randbelow(900_000))
        if number not in taken:
            taken.add(number)
            return number


def upgrade() -> None:
    op.add_column("subject", sa.Column("resident_number", sa.String(6), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, site_id FROM subject ORDER BY created_at, id"))
    taken: dict[str, set[str]] = {}
    numbers = [
        {"id": subject_id, "number": _draw(taken.setdefault(site_id, set()))}
        for subject_id, site_id in rows.fetchall()
    ]
    if numbers:
        bind.execute(
            sa.text("UPDATE subject SET resident_number = :number WHERE id = :id"), numbers
        )
    op.create_index(_INDEX, "subject", ["site_id", "resident_number"], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, "subject")
    # SQLite 3.35+ drops a column in place: a batch rebuild would lose the CHECK constraints.
    op.execute("ALTER TABLE subject DROP COLUMN resident_number")
