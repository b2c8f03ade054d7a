"""The real app on a real SQLite store in a temporary data dir, through Starlette's client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facegate.api.app import create_app
from facegate.core.config import Environment, Settings
from facegate.store import Store
from tests.store.helpers import OPERATOR, ready_site

ADMIN_PASSWORD = "correct horse battery staple"
SITE = "sunny-garden"
OTHER_SITE = "north-gate"


@dataclass(frozen=True)
class Setup:
    """A ready site with a face-and-card gate, an administrator and a gate device."""

    admin_user: str
    device_key: str
    gate: str


@pytest.fixture(autouse=True)
def _no_facegate_env(monkeypatch: pytest.MonkeyPatch) -> None:
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
def setup(store: Store) -> Setup:
    for code in (SITE, OTHER_SITE):
        ready_site(store, code, code.replace("-", " ").title())
        store.gates.configure(
            code, "main", "Main gate",
            accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
            actor=OPERATOR,
        )  # fmt: skip
        store.accounts.create_admin(code, f"admin@{code}", ADMIN_PASSWORD, actor=OPERATOR)
    device = store.devices.register(SITE, "Kiosk 1", ["main"], actor=OPERATOR)
    return Setup(admin_user=f"admin@{SITE}", device_key=device.api_key, gate="main")


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store=store), raise_server_exceptions=False) as test:
        yield test
