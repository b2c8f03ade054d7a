"""Migration 0008: accounts made before staff roles stay site administrators, the database
refuses an unknown role, and the idempotency table comes and goes with the revision."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from facegate.core.config import Settings
from facegate.errors import StoreError
from facegate.store import Store
from facegate.store.accounts import Role
from facegate.store.engine import make_engine
from facegate.store.migrate import alembic_config
from tests.api.conftest import ADMIN_PASSWORD, SITE
from tests.store.helpers import OPERATOR, ready_site


def test_accounts_before_0008_become_administrators(store: Store, settings: Settings) -> None:
    ready_site(store, SITE, "Sunny Garden")
    store.accounts.create_admin(SITE, "old@sunny", ADMIN_PASSWORD, actor=OPERATOR)
    store.close()
    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0007")
        tables = inspect(engine)
        assert "idempotency_record" not in tables.get_table_names()
        assert "role" not in {c["name"] for c in tables.get_columns("admin_account")}
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()
    with Store.open(settings) as reopened:
        [account] = reopened.staff.list(SITE)
        assert (account.username, account.role) == ("old@sunny", Role.ADMIN)
        assert reopened.accounts.sign_in_admin("old@sunny", ADMIN_PASSWORD).info.role is Role.ADMIN


def test_the_database_refuses_an_unknown_role(store: Store) -> None:
    ready_site(store, SITE, "Sunny Garden")
    made = store.accounts.create_admin(SITE, "a@sunny", ADMIN_PASSWORD, actor=OPERATOR)
    for role in ("root", "resident"):
        with pytest.raises(StoreError), store.transaction() as session:
            session.execute(
                text("UPDATE admin_account SET role = :role WHERE id = :id"),
                {"role": role, "id": made.id},
            )
    assert store.staff.get(SITE, made.id).role is Role.ADMIN
