"""Incident kinds for the AI-security defences: ``probing`` (a device probing the face gate).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

``incident.kind`` is a VARCHAR with a CHECK listing the kinds. SQLite cannot alter a
CHECK: a batch rebuild of ``incident`` (no triggers or indexes of its own) copies it into a
table built from the frozen definition below, with the widened CHECK. A downgrade first
deletes the incidents of kinds it does not know (it cannot keep them under the old CHECK).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = ("audit_chain_broken", "model_integrity", "template_integrity", "key_mismatch")
_ADDED = ("probing",)
_CHECK = "ck_incident_incident_kind"


def _incident(kinds: Sequence[str]) -> sa.Table:
    """``incident`` as revision 0002 made it, with ``kinds`` in its CHECK."""
    when = sa.DateTime(timezone=True)
    return sa.Table(
        "incident",
        sa.MetaData(),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("site_id", sa.String(32), nullable=True),
        sa.Column("detected_at", when, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("resolved_at", when, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_incident_site_id_site"),
        sa.CheckConstraint(_in("kind", kinds), name=_CHECK),
    )


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _set_kinds(new: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("incident", copy_from=_incident(new), recreate="always"):
            pass
        return
    # op.f: the name is final; the naming convention must not prefix it a second time.
    op.drop_constraint(op.f(_CHECK), "incident", type_="check")
    op.create_check_constraint(op.f(_CHECK), "incident", _in("kind", new))


def upgrade() -> None:
    _set_kinds(_BEFORE + _ADDED)


def downgrade() -> None:
    op.execute(f"DELETE FROM incident WHERE NOT ({_in('kind', _BEFORE)})")  # noqa: S608
    _set_kinds(_BEFORE)
