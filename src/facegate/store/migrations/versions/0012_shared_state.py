"""Shared state of several workers: rate-limit events and outstanding liveness challenges.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

With ``facegate serve --workers N`` every worker counts against the same limits and can
redeem a challenge another worker issued (``store.shared_state``). Keys of limits and
challenge nonces are kept only as SHA-256; times are seconds since the epoch. Both tables
hold short-lived rows only, purged by the normal hits.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HASH_LENGTH = 64
_ACTOR_LENGTH = 100
_GATE_CODE_LENGTH = 64


def upgrade() -> None:
    op.create_table(
        "rate_limit_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("limit_name", sa.String(length=64), nullable=False),
        sa.Column("key_sha256", sa.String(length=_HASH_LENGTH), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_event")),
    )
    op.create_index(
        op.f("ix_rate_limit_event_limit_name_key_sha256_at"),
        "rate_limit_event",
        ["limit_name", "key_sha256", "at"],
    )
    op.create_index(op.f("ix_rate_limit_event_expires_at"), "rate_limit_event", ["expires_at"])
    op.create_table(
        "liveness_challenge",
        sa.Column("nonce_sha256", sa.String(length=_HASH_LENGTH), nullable=False),
        sa.Column("device_id", sa.String(length=_ACTOR_LENGTH), nullable=False),
        sa.Column("gate", sa.String(length=_GATE_CODE_LENGTH), nullable=False),
        sa.Column("steps", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("nonce_sha256", name=op.f("pk_liveness_challenge")),
    )
    op.create_index(op.f("ix_liveness_challenge_device_id"), "liveness_challenge", ["device_id"])
    op.create_index(op.f("ix_liveness_challenge_expires_at"), "liveness_challenge", ["expires_at"])


def downgrade() -> None:
    op.drop_table("liveness_challenge")
    op.drop_table("rate_limit_event")
