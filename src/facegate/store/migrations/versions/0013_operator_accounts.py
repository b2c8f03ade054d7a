"""Operator accounts: a property company's sign-in over all the sites it runs.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

``operator_account`` (its ``organisation`` equals ``site.operator`` of the sites it runs;
argon2id password hash, lock-out columns like ``admin_account``) and ``operator_session``
(SHA-256 of the bearer token; it belongs to no site, so it is not a ``web_session`` row).
Plain ``create_table`` with named constraints: the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 32
_HASH = 64


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "operator_account",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        _when("created_at"),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        _when("locked_until", nullable=True),
        _when("disabled_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_operator_account"),
        sa.UniqueConstraint("username", name="uq_operator_account_username"),
    )
    op.create_index("ix_operator_account_organisation", "operator_account", ["organisation"])
    op.create_table(
        "operator_session",
        sa.Column("token_sha256", sa.String(_HASH), nullable=False),
        sa.Column("account_id", sa.String(_ID), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_operator_session"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["operator_account.id"],
            name="fk_operator_session_account_id_operator_account",
        ),
    )
    op.create_index("ix_operator_session_account_id", "operator_session", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_operator_session_account_id", "operator_session")
    op.drop_table("operator_session")
    op.drop_index("ix_operator_account_organisation", "operator_account")
    op.drop_table("operator_account")
