"""Privacy ledger: notices, consent details, guardians, gates, credentials, impact
assessments, deletion receipts, kept frames, incidents and filing alerts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

``subject`` and ``consent`` are rebuilt (SQLite cannot alter a CHECK constraint in place)
with SQLite's documented twelve-step procedure; ``facegate.store.migrate`` runs migrations
with foreign keys off and checks them before committing. Consents migrated from 0001 have
no notice and no end date: they are kept as records but are never usable, so face
processing of those subjects waits for a consent under a published notice (R-01, R-07).

Frozen copy of the schema as of this revision: it does not import the ORM models.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql.schema import SchemaItem

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
#: The same, with microseconds, as SQLAlchemy writes datetimes.
_NOW_US = f"{_NOW} || '000'"

_SQLITE_TRIGGERS = {
    "notice_no_update": """
        CREATE TRIGGER notice_no_update BEFORE UPDATE ON notice
        BEGIN SELECT RAISE(ABORT, 'a published notice is immutable'); END""",
    "notice_no_delete": """
        CREATE TRIGGER notice_no_delete BEFORE DELETE ON notice
        BEGIN SELECT RAISE(ABORT, 'a published notice is immutable'); END""",
    "deletion_receipt_no_update": """
        CREATE TRIGGER deletion_receipt_no_update BEFORE UPDATE ON deletion_receipt
        BEGIN SELECT RAISE(ABORT, 'deletion receipts are append-only'); END""",
    "deletion_receipt_no_delete": """
        CREATE TRIGGER deletion_receipt_no_delete BEFORE DELETE ON deletion_receipt
        BEGIN SELECT RAISE(ABORT, 'deletion receipts are append-only'); END""",
    "impact_assessment_no_update": """
        CREATE TRIGGER impact_assessment_no_update BEFORE UPDATE ON impact_assessment
        BEGIN SELECT RAISE(ABORT, 'an impact assessment record is immutable'); END""",
    "impact_assessment_kept": f"""
        CREATE TRIGGER impact_assessment_kept BEFORE DELETE ON impact_assessment
        WHEN OLD.retain_until > {_NOW}
        BEGIN SELECT RAISE(ABORT, 'an impact assessment is kept until retain_until'); END""",
}

# PostgreSQL: the same checks and messages as PL/pgSQL trigger functions (RAISE is P0001).
_PG_FUNCTIONS = {
    "notice_immutable": """
        CREATE FUNCTION notice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'a published notice is immutable'; END $$""",
    "deletion_receipt_append_only": """
        CREATE FUNCTION deletion_receipt_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'deletion receipts are append-only'; END $$""",
    "impact_assessment_no_update": """
        CREATE FUNCTION impact_assessment_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'an impact assessment record is immutable'; END $$""",
    "impact_assessment_kept": """
        CREATE FUNCTION impact_assessment_kept() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.retain_until > now()
          THEN RAISE EXCEPTION 'an impact assessment is kept until retain_until'; END IF;
          RETURN OLD;
        END $$""",
}
# Trigger name -> (table, event, function): the names match the SQLite triggers.
_PG_TRIGGERS = {
    "notice_no_update": ("notice", "UPDATE", "notice_immutable"),
    "notice_no_delete": ("notice", "DELETE", "notice_immutable"),
    "deletion_receipt_no_update": ("deletion_receipt", "UPDATE", "deletion_receipt_append_only"),
    "deletion_receipt_no_delete": ("deletion_receipt", "DELETE", "deletion_receipt_append_only"),
    "impact_assessment_no_update": ("impact_assessment", "UPDATE", "impact_assessment_no_update"),
    "impact_assessment_kept": ("impact_assessment", "DELETE", "impact_assessment_kept"),
}


def _id(name: str = "id", *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(32), nullable=nullable)


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _subject_table(*, with_privacy: bool) -> list[SchemaItem]:
    kinds = ("resident", "visitor", "temporary") if with_privacy else ("resident", "visitor")
    checks = [
        sa.CheckConstraint(
            "(status = 'active' AND display_name IS NOT NULL AND deleted_at IS NULL)"
            " OR (status = 'deleted' AND display_name IS NULL AND deleted_at IS NOT NULL)",
            name="ck_subject_tombstone",
        )
    ]
    extra: list[SchemaItem] = []
    if with_privacy:
        extra = [
            sa.Column("minor_until", sa.Date(), nullable=True),
            _when("moved_out_at", nullable=True),
            _when("expires_at", nullable=True),
        ]
        checks.append(
            sa.CheckConstraint(
                "kind = 'resident' OR expires_at IS NOT NULL OR status = 'deleted'",
                name="ck_subject_expiring_kind_has_end",
            )
        )
    return [
        _id(),
        _id("site_id"),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("kind", _enum("subject_kind", *kinds), nullable=False),
        sa.Column("status", _enum("subject_status", "active", "deleted"), nullable=False),
        _when("created_at"),
        _when("deleted_at", nullable=True),
        *extra,
        sa.PrimaryKeyConstraint("id", name="pk_subject"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_subject_site_id_site"),
        *checks,
    ]


def _consent_table(*, with_privacy: bool) -> list[SchemaItem]:
    extra: list[SchemaItem] = []
    if with_privacy:
        extra = [
            _id("notice_id", nullable=True),
            _when("expires_at", nullable=True),
            sa.Column("evidence_ref", sa.String(200), nullable=True),
            _id("guardian_id", nullable=True),
            _when("renewal_required_at", nullable=True),
            sa.Column("withdrawn_by", sa.String(100), nullable=True),
            sa.ForeignKeyConstraint(
                ["notice_id"], ["notice.id"], name="fk_consent_notice_id_notice"
            ),
            sa.ForeignKeyConstraint(
                ["guardian_id"], ["guardian.id"], name="fk_consent_guardian_id_guardian"
            ),
            sa.CheckConstraint(
                "expires_at IS NULL OR expires_at > given_at", name="ck_consent_ends_after_start"
            ),
        ]
    return [
        _id(),
        _id("subject_id"),
        sa.Column("notice_version", sa.String(32), nullable=False),
        _when("given_at"),
        sa.Column("method", _enum("consent_method", "signature", "e_signature"), nullable=False),
        sa.Column("given_by", sa.String(200), nullable=False),
        sa.Column("collected_by", sa.String(100), nullable=False),
        _when("withdrawn_at", nullable=True),
        *extra,
        sa.PrimaryKeyConstraint("id", name="pk_consent"),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name="fk_consent_subject_id_subject"
        ),
        sa.UniqueConstraint("id", "subject_id", name="uq_consent_id_subject_id"),
    ]


def _rebuild(
    table: str,
    items: list[SchemaItem],
    indexes: dict[str, list[str]],
    computed: dict[str, str] | None = None,
) -> None:
    """SQLite's twelve-step ALTER: build the new table, copy the shared columns, swap names.

    ``computed`` gives new columns an SQL expression over the old row.
    """
    old_columns = {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}
    new = op.create_table(f"{table}_rebuilt", *items)
    extra = computed or {}
    shared = [c.name for c in new.columns if c.name in old_columns]
    targets = ", ".join([*shared, *extra])
    values = ", ".join([*shared, *extra.values()])
    op.execute(f"INSERT INTO {new.name} ({targets}) SELECT {values} FROM {table}")  # noqa: S608
    op.drop_table(table)
    op.execute(f"ALTER TABLE {new.name} RENAME TO {table}")
    for index, columns in indexes.items():
        op.create_index(index, table, columns)


def _alter_subject_pg() -> None:
    """PostgreSQL alters ``subject`` in place: the same columns and CHECKs as the rebuild."""
    for column in _subject_table(with_privacy=True):
        if isinstance(column, sa.Column) and column.name in _SUBJECT_ADDED:
            op.add_column("subject", column)
    op.execute("UPDATE subject SET expires_at = now() WHERE kind = 'visitor' AND status = 'active'")
    # op.f: the names are final, as revision 0001's create_table made them.
    op.drop_constraint(op.f("ck_subject_subject_kind"), "subject", type_="check")
    op.create_check_constraint(
        op.f("ck_subject_subject_kind"), "subject", "kind IN ('resident', 'visitor', 'temporary')"
    )
    op.create_check_constraint(
        op.f("ck_subject_ck_subject_expiring_kind_has_end"),
        "subject",
        "kind = 'resident' OR expires_at IS NOT NULL OR status = 'deleted'",
    )


def _alter_consent_pg() -> None:
    for item in _consent_table(with_privacy=True):
        if isinstance(item, sa.Column) and item.name in _CONSENT_ADDED:
            op.add_column("consent", item)
    op.create_foreign_key(
        op.f("fk_consent_notice_id_notice"), "consent", "notice", ["notice_id"], ["id"]
    )
    op.create_foreign_key(
        op.f("fk_consent_guardian_id_guardian"), "consent", "guardian", ["guardian_id"], ["id"]
    )
    op.create_check_constraint(
        op.f("ck_consent_ck_consent_ends_after_start"),
        "consent",
        "expires_at IS NULL OR expires_at > given_at",
    )
    op.create_index("ix_consent_notice_id", "consent", ["notice_id"])


_SUBJECT_ADDED = ("minor_until", "moved_out_at", "expires_at")
_CONSENT_ADDED = (
    "notice_id",
    "expires_at",
    "evidence_ref",
    "guardian_id",
    "renewal_required_at",
    "withdrawn_by",
)


def _create_pg_triggers() -> None:
    for ddl in _PG_FUNCTIONS.values():
        op.execute(ddl)
    for name, (table, event, function) in _PG_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"append-only triggers are not written for {dialect}")
    postgresql = dialect == "postgresql"

    with op.batch_alter_table("site") as batch:
        batch.add_column(sa.Column("operator", sa.String(200), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("keep_disputed_frames", sa.Boolean(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("resident_retention_days", sa.Integer(), nullable=False, server_default="30")
        )
        batch.add_column(
            sa.Column("snapshot_retention_days", sa.Integer(), nullable=False, server_default="7")
        )
        batch.add_column(
            sa.Column("gallery_version", sa.Integer(), nullable=False, server_default="0")
        )
    # An operator defaults to the site itself until one is named.
    op.execute("UPDATE site SET operator = name WHERE operator = ''")

    op.create_table(
        "notice",
        _id(),
        _id("site_id"),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        _when("published_at"),
        sa.Column("published_by", sa.String(100), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        _flag("widens"),
        sa.PrimaryKeyConstraint("id", name="pk_notice"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_notice_site_id_site"),
        sa.UniqueConstraint("site_id", "version", name="uq_notice_site_id_version"),
        sa.UniqueConstraint("site_id", "seq", name="uq_notice_site_id_seq"),
    )
    op.create_index("ix_notice_site_id", "notice", ["site_id"])

    # A visitor had no end date in 0001; now one is required: their stay ends at
    # the upgrade, so face entry stops and the next retention run purges them.
    if postgresql:
        _alter_subject_pg()
    else:
        _rebuild(
            "subject",
            _subject_table(with_privacy=True),
            {"ix_subject_site_id": ["site_id"]},
            {"expires_at": f"CASE WHEN kind = 'visitor' AND status = 'active' THEN {_NOW_US} END"},
        )
    op.create_table(
        "guardian",
        _id(),
        _id("subject_id"),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column(
            "relation", _enum("guardian_relation", "parent", "legal_guardian"), nullable=False
        ),
        _when("created_at"),
        _when("removed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_guardian"),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name="fk_guardian_subject_id_subject"
        ),
        sa.UniqueConstraint("id", "subject_id", name="uq_guardian_id_subject_id"),
    )
    op.create_index("ix_guardian_subject_id", "guardian", ["subject_id"])
    if postgresql:
        _alter_consent_pg()
    else:
        _rebuild(
            "consent",
            _consent_table(with_privacy=True),
            {"ix_consent_subject_id": ["subject_id"], "ix_consent_notice_id": ["notice_id"]},
        )

    # Withdrawal and retention find templates by consent.
    op.create_index("ix_template_consent_id", "template", ["consent_id"])

    op.create_table(
        "gate",
        _id(),
        _id("site_id"),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _flag("accepts_face"),
        _flag("accepts_card"),
        _flag("accepts_pin"),
        _flag("accepts_otp"),
        sa.Column("liveness", _enum("liveness_level", "passive", "passive_active"), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_gate"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_gate_site_id_site"),
        sa.UniqueConstraint("site_id", "code", name="uq_gate_site_id_code"),
        # no gate is face-only, whatever code writes the row.
        sa.CheckConstraint(
            "accepts_card OR accepts_pin OR accepts_otp", name="ck_gate_non_face_credential"
        ),
    )
    op.create_index("ix_gate_site_id", "gate", ["site_id"])

    op.create_table(
        "credential",
        _id(),
        _id("subject_id"),
        sa.Column("kind", _enum("credential_kind", "card", "pin", "otp"), nullable=False),
        sa.Column(
            "status", _enum("credential_status", "active", "revoked", "used"), nullable=False
        ),
        sa.Column("lookup_hash", sa.String(64), nullable=True),
        sa.Column("secret_hash", sa.String(200), nullable=True),
        _when("created_at"),
        _when("expires_at", nullable=True),
        _when("used_at", nullable=True),
        _when("revoked_at", nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        _when("locked_until", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_credential"),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name="fk_credential_subject_id_subject"
        ),
        sa.UniqueConstraint("lookup_hash", name="uq_credential_lookup_hash"),
        sa.CheckConstraint(
            "(kind = 'pin' AND secret_hash IS NOT NULL)"
            " OR (kind IN ('card', 'otp') AND lookup_hash IS NOT NULL)",
            name="ck_credential_secret_present",
        ),
        sa.CheckConstraint(
            "kind != 'otp' OR expires_at IS NOT NULL", name="ck_credential_otp_expires"
        ),
    )
    op.create_index("ix_credential_subject_id", "credential", ["subject_id"])

    op.create_table(
        "impact_assessment",
        _id(),
        _id("site_id"),
        _when("assessed_at"),
        sa.Column("assessor", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=True),
        _when("retain_until"),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_impact_assessment"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_impact_assessment_site_id_site"),
    )
    op.create_index("ix_impact_assessment_site_id", "impact_assessment", ["site_id"])

    op.create_table(
        "deletion_receipt",
        _id(),
        _id("subject_id"),
        _id("site_id"),
        _when("deleted_at"),
        sa.Column(
            "reason",
            _enum("deletion_reason", "withdrawal", "move_out", "expiry", "request", "reconcile"),
            nullable=False,
        ),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("templates_deleted", sa.Integer(), nullable=False),
        sa.Column("credentials_deleted", sa.Integer(), nullable=False),
        sa.Column("snapshots_deleted", sa.Integer(), nullable=False),
        sa.Column("keys_destroyed", sa.Integer(), nullable=False),
        sa.Column("audit_event_id", sa.Integer(), nullable=False),
        _flag("subject_erased"),
        sa.PrimaryKeyConstraint("id", name="pk_deletion_receipt"),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name="fk_deletion_receipt_subject_id_subject"
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_deletion_receipt_site_id_site"),
    )
    op.create_index("ix_deletion_receipt_subject_id", "deletion_receipt", ["subject_id"])

    op.create_table(
        "snapshot",
        _id(),
        _id("site_id"),
        _id("subject_id", nullable=True),
        _id("gate_id", nullable=True),
        _when("taken_at"),
        _when("expires_at"),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("ciphertext_sha256", sa.String(64), nullable=False),
        sa.Column("bystanders_redacted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snapshot"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_snapshot_site_id_site"),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name="fk_snapshot_subject_id_subject"
        ),
        sa.ForeignKeyConstraint(["gate_id"], ["gate.id"], name="fk_snapshot_gate_id_gate"),
    )
    op.create_index("ix_snapshot_site_id", "snapshot", ["site_id"])
    op.create_index("ix_snapshot_subject_id", "snapshot", ["subject_id"])

    op.create_table(
        "incident",
        _id(),
        _id("site_id", nullable=True),
        _when("detected_at"),
        sa.Column(
            "kind",
            sa.Enum(
                "audit_chain_broken",
                "model_integrity",
                "template_integrity",
                "key_mismatch",
                name="incident_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.Text(), nullable=False),
        _when("resolved_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name="fk_incident_site_id_site"),
    )

    op.create_table(
        "filing_alert",
        sa.Column("operator", sa.String(200), nullable=False),
        _when("raised_at"),
        sa.Column("enrolled_people", sa.Integer(), nullable=False),
        sa.Column("due_by", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("operator", name="pk_filing_alert"),
    )
    if postgresql:
        _create_pg_triggers()
        return
    for ddl in _SQLITE_TRIGGERS.values():
        op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_pg()
        return
    for name in _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_template_consent_id", "template")
    for table in (
        "filing_alert",
        "incident",
        "snapshot",
        "deletion_receipt",
        "impact_assessment",
        "credential",
        "gate",
    ):
        op.drop_table(table)
    _rebuild(
        "consent",
        _consent_table(with_privacy=False),
        {"ix_consent_subject_id": ["subject_id"]},
    )
    op.drop_table("guardian")
    op.execute("UPDATE subject SET kind = 'visitor' WHERE kind = 'temporary'")
    _rebuild(
        "subject",
        _subject_table(with_privacy=False),
        {"ix_subject_site_id": ["site_id"]},
    )
    op.drop_table("notice")
    with op.batch_alter_table("site") as batch:
        for column in (
            "gallery_version",
            "snapshot_retention_days",
            "resident_retention_days",
            "keep_disputed_frames",
            "operator",
        ):
            batch.drop_column(column)


def _downgrade_pg() -> None:
    for name, (table, _event, _function) in _PG_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for function in _PG_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_index("ix_template_consent_id", "template")
    for table in (
        "filing_alert",
        "incident",
        "snapshot",
        "deletion_receipt",
        "impact_assessment",
        "credential",
        "gate",
    ):
        op.drop_table(table)
    op.drop_index("ix_consent_notice_id", "consent")
    # Dropping a column drops the constraints and foreign keys that name it.
    for column in reversed(_CONSENT_ADDED):
        op.drop_column("consent", column)
    op.drop_table("guardian")
    op.execute("UPDATE subject SET kind = 'visitor' WHERE kind = 'temporary'")
    op.drop_constraint(op.f("ck_subject_subject_kind"), "subject", type_="check")
    op.create_check_constraint(
        op.f("ck_subject_subject_kind"), "subject", "kind IN ('resident', 'visitor')"
    )
    for column in reversed(_SUBJECT_ADDED):
        op.drop_column("subject", column)
    op.drop_table("notice")
    for column in (
        "gallery_version",
        "snapshot_retention_days",
        "resident_retention_days",
        "keep_disputed_frames",
        "operator",
    ):
        op.drop_column("site", column)
