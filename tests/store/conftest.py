"""Fixtures for the store tests: a fresh data dir, an open store with one site, raw DB access."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from facegate.core.config import Environment, Settings
from facegate.store import SiteInfo, Store

from .helpers import ready_site


@pytest.fixture(autouse=True)
def _no_facegate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read FACEGATE_* variables; a developer's shell must not leak into tests.
    for name in list(os.environ):
        if name.startswith("FACEGATE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", env=Environment.DEVELOPMENT)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with Store.open(settings) as opened:
        yield opened


@pytest.fixture
def site(store: Store) -> SiteInfo:
    return ready_site(store)


@pytest.fixture
def db_path(settings: Settings) -> Path:
    return settings.data_dir / "facegate.sqlite"


@pytest.fixture
def raw_db(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A raw connection to the database file, as an attacker or a DBA would have it.

    Autocommit, with foreign keys on (SQLite's default is off, per connection).
    """
    connection = sqlite3.connect(db_path, isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    try:
        yield connection
    finally:
        connection.close()
