"""The gate tests drive the real app (the API tests' fixtures) and the CLI on one store."""

from tests.api.conftest import _no_facegate_env, client, settings, setup, store

__all__ = ["_no_facegate_env", "client", "settings", "setup", "store"]
