"""The real app on a real SQLite store in a temporary data dir, through Starlette's client.

The data dir, settings and store fixtures are the store tests' own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from facegate.api.app import create_app
from facegate.core.config import Settings
from facegate.store import Store
from facegate.store.records import LivenessLevel
from tests.store.conftest import _no_facegate_env, settings, store
from tests.store.helpers import OPERATOR, ready_site

ADMIN_PASSWORD = "correct horse battery staple"
SITE = "sunny-garden"
OTHER_SITE = "north-gate"


@dataclass(frozen=True)
class Setup:
    """A ready site with a face-and-card gate, an administrator and a gate device.

    The gate is ``passive`` (named, not the default): these tests are about recognition and
    the routes; a challenge is tested where a test asks for one (``test_liveness_decisions``).
    """

    admin_user: str
    device_key: str
    gate: str


@pytest.fixture
def setup(store: Store) -> Setup:
    for code in (SITE, OTHER_SITE):
        ready_site(store, code, code.replace("-", " ").title())
        store.gates.configure(
            code, "main", "Main gate",
            accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
            liveness=LivenessLevel.PASSIVE, actor=OPERATOR,
        )  # fmt: skip
        store.accounts.create_admin(code, f"admin@{code}", ADMIN_PASSWORD, actor=OPERATOR)
    device = store.devices.register(SITE, "Kiosk 1", ["main"], actor=OPERATOR)
    return Setup(admin_user=f"admin@{SITE}", device_key=device.api_key, gate="main")


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store=store), raise_server_exceptions=False) as test:
        yield test


__all__ = ["_no_facegate_env", "client", "settings", "setup", "store"]
