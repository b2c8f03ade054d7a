"""The store tests' fixtures (fresh data dir, open store, one site, raw DB), reused here."""

from __future__ import annotations

from tests.store.conftest import _no_facegate_env, db_path, raw_db, settings, site, store

__all__ = ["_no_facegate_env", "db_path", "raw_db", "settings", "site", "store"]
