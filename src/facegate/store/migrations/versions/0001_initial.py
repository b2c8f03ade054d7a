"""Initial schema: sites, subjects, consents, subject keys, encrypted templates, audit chain.

Revision ID: 0001
Revises:
Create Date: 2025-11-23

Frozen copy of the schema as of this revision: it does not import the ORM models, which will
move on while this file must keep building the same tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GENESIS_HASH = "0" * 64

# SQLite raises from triggers; the audit log is append-only and can only extend audit_head.
_SQLITE_TRIGGERS = {
    "audit_event_no_update": """
        CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    "audit_event_no_delete": """
        CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    "audit_event_extends_head": """
        CREATE TRIGGER audit_event_extends_head BEFORE INSERT ON audit_event
        WHEN NEW.id IS NOT (SELECT last_id + 1 FROM audit_head WHERE id = 1)
          OR NEW.prev_hash IS NOT (SELECT last_hash FROM audit_head WHERE id = 1)
        BEGIN SELECT RAISE(ABORT, 'audit_event must extend audit_head'); END""",
    "audit_head_only_advances": """
        CREATE TRIGGER audit_head_only_advances BEFORE UPDATE ON audit_head
        WHEN NEW.id IS NOT OLD.id
          OR NEW.last_id IS NOT OLD.last_id + 1
          OR NOT EXISTS (
            SELECT 1 FROM audit_event WHERE id = NEW.last_id AND hash = NEW.last_hash)
        BEGIN SELECT RAISE(ABORT, 'audit_head only advances to the newest audit_event'); END""",
    "audit_head_no_delete": """
        CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
        BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END""",
}

# PostgreSQL: the same checks and messages as PL/pgSQL trigger functions. IS DISTINCT FROM
# is SQLite's IS NOT (NULL-safe). RAISE without a SQLSTATE is P0001 (raise_exception).
_PG_FUNCTIONS = {
    "audit_event_append_only": """
        CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$""",
    "audit_event_extends_head": """
        CREATE FUNCTION audit_event_extends_head() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id IS DISTINCT FROM (SELECT last_id + 1 FROM audit_head WHERE id = 1)
             OR NEW.prev_hash IS DISTINCT FROM (SELECT last_hash FROM audit_head WHERE id = 1)
          THEN RAISE EXCEPTION 'audit_event must extend audit_head'; END IF;
          RETURN NEW;
        END $$""",
    "audit_head_only_advances": """
        CREATE FUNCTION audit_head_only_advances() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id IS DISTINCT FROM OLD.id
             OR NEW.last_id IS DISTINCT FROM OLD.last_id + 1
             OR NOT EXISTS (
               SELECT 1 FROM audit_event WHERE id = NEW.last_id AND hash = NEW.last_hash)
          THEN RAISE EXCEPTION 'audit_head only advances to the newest audit_event'; END IF;
          RETURN NEW;
        END $$""",
    "audit_head_no_delete": """
        CREATE FUNCTION audit_head_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_head cannot be deleted'; END $$""",
}
# Trigger name -> (table, event, function): the names match the SQLite triggers.
_PG_TRIGGERS = {
    "audit_event_no_update": ("audit_event", "UPDATE", "audit_event_append_only"),
    "audit_event_no_delete": ("audit_event", "DELETE", "audit_event_append_only"),
    "audit_event_extends_head": ("audit_event", "INSERT", "audit_event_extends_head"),
    "audit_head_only_advances": ("audit_head", "UPDATE", "audit_head_only_advances"),
    "audit_head_no_delete": ("audit_head", "DELETE", "audit_head_no_delete"),
}


def _create_pg_triggers() -> None:
    for ddl in _PG_FUNCTIONS.values():
        op.execute(ddl)
    for name, (table, event, function) in _PG_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def _id(name: str = "id") -> sa.Column[str]:
    return sa.Column(name, sa.String(32), nullable=False)


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        # No silent weakening: the audit log's append-only guarantee needs its triggers.
        raise NotImplementedError(f"append-only audit triggers are not written for {dialect}")

    op.create_table(
        "site",
        _id(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_site"),
        sa.UniqueConstraint("code", name="uq_site_code"),
    )
    op.create_table(
        "subject",
        _id(),
        _id("site_id"),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("kind", _enum("subject_kind", "resident", "visitor"), nullable=False),
        sa.Column("status", _enum("subject_status", "active", "deleted"), nullable=False),
        _when("created_at"),
        _when("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_subject"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_subject_site_id_site"),
        sa.CheckConstraint(
            "(status = 'active' AND display_name IS NOT NULL AND deleted_at IS NULL)"
            " OR (status = 'deleted' AND display_name IS NULL AND deleted_at IS NOT NULL)",
            name="ck_subject_tombstone",
        ),
    )
    op.create_index("ix_subject_site_id", "subject", ["site_id"])
    op.create_table(
        "consent",
        _id(),
        _id("subject_id"),
        sa.Column("notice_version", sa.String(32), nullable=False),
        _when("given_at"),
        sa.Column("method", _enum("consent_method", "signature", "e_signature"), nullable=False),
        sa.Column("given_by", sa.String(200), nullable=False),
        sa.Column("collected_by", sa.String(100), nullable=False),
        _when("withdrawn_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consent"),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name="fk_consent_subject_id_subject"
        ),
        sa.UniqueConstraint("id", "subject_id", name="uq_consent_id_subject_id"),
    )
    op.create_index("ix_consent_subject_id", "consent", ["subject_id"])
    op.create_table(
        "subject_key",
        _id("subject_id"),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("subject_id", name="pk_subject_key"),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name="fk_subject_key_subject_id_subject"
        ),
        sa.CheckConstraint("length(wrapped_key) = 60", name="ck_subject_key_wrapped_key_length"),
    )
    op.create_table(
        "template",
        _id(),
        _id("subject_id"),
        _id("consent_id"),
        sa.Column("model_name", sa.String(64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("quality", sa.Float(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_template"),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name="fk_template_subject_id_subject"
        ),
        # A template can only cite a consent of its own subject.
        sa.ForeignKeyConstraint(
            ["consent_id", "subject_id"],
            ["consent.id", "consent.subject_id"],
            name="fk_template_consent_id_subject_id_consent",
        ),
        sa.CheckConstraint("length(nonce) = 12", name="ck_template_nonce_length"),
        # 128 float32 + GCM tag: the column cannot hold an image.
        sa.CheckConstraint("length(ciphertext) = 528", name="ck_template_ciphertext_length"),
    )
    op.create_index("ix_template_subject_id", "template", ["subject_id"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        _when("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("site_id", sa.String(32), nullable=True),
        sa.Column("subject_id", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_event"),
    )
    op.create_index("ix_audit_event_subject_id", "audit_event", ["subject_id"])
    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )
    op.bulk_insert(audit_head, [{"id": 1, "last_id": 0, "last_hash": _GENESIS_HASH}])
    if dialect == "postgresql":
        _create_pg_triggers()
        return
    for ddl in _SQLITE_TRIGGERS.values():
        op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, (table, _event, _function) in _PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for function in _PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in (
        "audit_head",
        "audit_event",
        "template",
        "subject_key",
        "consent",
        "subject",
        "site",
    ):
        op.drop_table(table)
