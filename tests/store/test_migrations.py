"""The schema comes from the packaged Alembic migrations and matches the ORM models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, inspect

from facegate.core.config import Environment, Settings
from facegate.errors import KeyMaterialError
from facegate.store import Store
from facegate.store.engine import make_engine
from facegate.store.migrate import alembic_config, current_revision, head_revision
from facegate.store.schema import Base

SRC = Path(__file__).resolve().parents[2] / "src" / "facegate"


def _schema_diff(settings: Settings, metadata: MetaData) -> list[object]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_migrated_schema_matches_orm_metadata(store: Store, settings: Settings) -> None:
    assert _schema_diff(settings, Base.metadata) == []


def test_schema_comparison_notices_a_difference(store: Store, settings: Settings) -> None:
    # Guards the test above against comparing nothing.
    altered = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(altered)
    altered.tables["template"].append_column(Column("image", Integer))
    assert len(_schema_diff(settings, altered)) == 1


def test_database_is_at_the_packaged_head(store: Store, settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision() == "0001"
    finally:
        engine.dispose()


def test_reopening_keeps_data_and_revision(store: Store, settings: Settings) -> None:
    store.create_site("north-gate", "North Gate")
    store.close()
    with Store.open(settings) as reopened:
        assert [site.code for site in reopened.list_sites()] == ["north-gate"]
        assert reopened.verify_audit().ok


def test_downgrade_to_base_and_upgrade_again(store: Store, settings: Settings) -> None:
    store.close()
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()
    assert _schema_diff(settings, Base.metadata) == []


def test_production_code_never_creates_tables_from_metadata() -> None:
    offenders = [
        path.relative_to(SRC)
        for path in (SRC / "store").rglob("*.py")
        if "create_all" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_missing_key_in_production_creates_no_database(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        env=Environment.PRODUCTION,
        key_file=tmp_path / "absent.key",
    )
    with pytest.raises(KeyMaterialError, match=r"absent\.key"):
        Store.open(settings)
    assert not (tmp_path / "data" / "facegate.sqlite").exists()
    assert not (tmp_path / "absent.key").exists()
