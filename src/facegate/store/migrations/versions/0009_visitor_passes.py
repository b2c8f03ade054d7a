"""Visitor passes and gate schedules.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

A visitor pass is a resident's one-time code (a ``credential`` row, kind otp) limited to
chosen gates and a time window; a gate schedule says when each kind (face, card, PIN,
one-time code) may open a gate, in the gate's local time. Frozen copy of the schema as of
this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "visitor_pass",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("credential_id", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("label", sa.String(40), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("valid_from < valid_until", name="ck_visitor_pass_window_order"),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credential.id"],
            name="fk_visitor_pass_credential_id_credential",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name="fk_visitor_pass_subject_id_subject"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_visitor_pass"),
        sa.UniqueConstraint("credential_id", name="uq_visitor_pass_credential_id"),
    )
    op.create_index("ix_visitor_pass_subject_id", "visitor_pass", ["subject_id"])
    op.create_table(
        "visitor_pass_gate",
        sa.Column("pass_id", sa.String(32), nullable=False),
        sa.Column("gate_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["pass_id"],
            ["visitor_pass.id"],
            name="fk_visitor_pass_gate_pass_id_visitor_pass",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["gate_id"], ["gate.id"], name="fk_visitor_pass_gate_gate_id_gate"),
        sa.PrimaryKeyConstraint("pass_id", "gate_id", name="pk_visitor_pass_gate"),
    )
    op.create_table(
        "gate_schedule",
        sa.Column("gate_id", sa.String(32), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["gate_id"], ["gate.id"], name="fk_gate_schedule_gate_id_gate"),
        sa.PrimaryKeyConstraint("gate_id", name="pk_gate_schedule"),
    )
    op.create_table(
        "gate_schedule_window",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("gate_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('face', 'card', 'pin', 'otp')", name="ck_gate_schedule_window_kind"
        ),
        sa.CheckConstraint("days > 0 AND days < 128", name="ck_gate_schedule_window_days"),
        sa.CheckConstraint(
            "start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440",
            name="ck_gate_schedule_window_minutes",
        ),
        sa.ForeignKeyConstraint(
            ["gate_id"],
            ["gate_schedule.gate_id"],
            name="fk_gate_schedule_window_gate_id_gate_schedule",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_gate_schedule_window"),
    )
    op.create_index("ix_gate_schedule_window_gate_id", "gate_schedule_window", ["gate_id"])


def downgrade() -> None:
    op.drop_index("ix_gate_schedule_window_gate_id", "gate_schedule_window")
    op.drop_table("gate_schedule_window")
    op.drop_table("gate_schedule")
    op.drop_table("visitor_pass_gate")
    op.drop_index("ix_visitor_pass_subject_id", "visitor_pass")
    op.drop_table("visitor_pass")
