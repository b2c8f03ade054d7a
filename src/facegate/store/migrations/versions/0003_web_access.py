"""Web access: administrator accounts, sessions, resident sign-in codes, gate devices.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Frozen copy of the schema as of this revision: it does not import the ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id(name: str = "id", *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(32), nullable=nullable)


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "admin_account",
        _id(),
        _id("site_id"),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        _when("created_at"),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        _when("locked_until", nullable=True),
        _when("disabled_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_admin_account"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_admin_account_site_id_site"),
        sa.UniqueConstraint("username", name="uq_admin_account_username"),
    )
    op.create_index("ix_admin_account_site_id", "admin_account", ["site_id"])
    op.create_table(
        "web_session",
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        _id("principal_id"),
        _id("site_id"),
        _when("created_at"),
        _when("expires_at"),
        _when("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_web_session"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_web_session_site_id_site"),
    )
    op.create_index("ix_web_session_principal_id", "web_session", ["principal_id"])
    op.create_table(
        "signin_code",
        sa.Column("lookup_hash", sa.String(64), nullable=False),
        _id("subject_id"),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        sa.PrimaryKeyConstraint("lookup_hash", name="pk_signin_code"),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name="fk_signin_code_subject_id_subject"
        ),
    )
    op.create_index("ix_signin_code_subject_id", "signin_code", ["subject_id"])
    op.create_table(
        "gate_device",
        _id(),
        _id("site_id"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        _when("created_at"),
        _when("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gate_device"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_gate_device_site_id_site"),
        sa.UniqueConstraint("key_sha256", name="uq_gate_device_key_sha256"),
    )
    op.create_index("ix_gate_device_site_id", "gate_device", ["site_id"])
    op.create_table(
        "gate_device_gate",
        _id("device_id"),
        _id("gate_id"),
        sa.PrimaryKeyConstraint("device_id", "gate_id", name="pk_gate_device_gate"),
        sa.ForeignKeyConstraint(
            ["device_id"], ["gate_device.id"], name="fk_gate_device_gate_device_id_gate_device"
        ),
        sa.ForeignKeyConstraint(["gate_id"], ["gate.id"], name="fk_gate_device_gate_gate_id_gate"),
    )


def downgrade() -> None:
    for table in ("gate_device_gate", "gate_device", "signin_code", "web_session", "admin_account"):
        op.drop_table(table)
