"""``FACEGATE_SHARED_STATE=database``: two apps on one database count against the same
limits and share challenges, as two workers do (``test_workers`` runs real ones)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facegate.api.app import create_app
from facegate.api.ratelimit import SIGNIN_ATTEMPTS, MemoryWindows, NoLimits
from facegate.api.state import AppState
from facegate.core.config import Settings, SharedState
from facegate.liveness.challenge import MemoryTickets
from facegate.store import Store
from facegate.store.shared_state import SharedChallenges, SharedRateLimits
from tests.api.signin import API


@pytest.fixture
def shared(settings: Settings, store: Store) -> Settings:
    # ``store`` migrated the database; each app below opens its own, as a worker does.
    return settings.model_copy(update={"shared_state": SharedState.DATABASE})


@pytest.fixture
def apps(shared: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    with TestClient(create_app(shared)) as first, TestClient(create_app(shared)) as second:
        yield first, second


def _state(client: TestClient) -> AppState:
    state: AppState = client.app.state.facegate  # type: ignore[attr-defined]
    return state


def test_memory_is_the_default_and_database_is_chosen_by_the_setting(
    client: TestClient, apps: tuple[TestClient, TestClient]
) -> None:
    assert isinstance(_state(client).limiter.storage, MemoryWindows)
    assert isinstance(_state(client).challenges.storage, MemoryTickets)
    for app in apps:
        assert isinstance(_state(app).limiter.storage, SharedRateLimits)
        assert isinstance(_state(app).challenges.storage, SharedChallenges)


def test_postgresql_shares_state_unless_told_otherwise(tmp_path: Path) -> None:
    url = "postgresql+psycopg://facegate@127.0.0.1/facegate"
    assert Settings(data_dir=tmp_path, database_url=url).shared_state is SharedState.DATABASE
    told = Settings(data_dir=tmp_path, database_url=url, shared_state=SharedState.MEMORY)
    assert told.shared_state is SharedState.MEMORY
    assert Settings(data_dir=tmp_path).shared_state is SharedState.MEMORY


def test_limits_off_keep_challenges_shared(shared: Settings) -> None:
    unlimited = shared.model_copy(update={"rate_limits": False})
    with TestClient(create_app(unlimited)) as client:
        assert isinstance(_state(client).limiter, NoLimits)
        assert isinstance(_state(client).challenges.storage, SharedChallenges)


def test_two_apps_share_the_signin_limit(apps: tuple[TestClient, TestClient]) -> None:
    statuses = [
        apps[i % 2]
        .post(f"{API}/auth/admin", json={"username": f"nobody{i}", "password": "wrong"})
        .status_code
        for i in range(SIGNIN_ATTEMPTS.events + 2)
    ]
    assert statuses == [401] * SIGNIN_ATTEMPTS.events + [429, 429]


def test_a_challenge_issued_by_one_app_is_redeemed_by_the_other(
    apps: tuple[TestClient, TestClient],
) -> None:
    ticket = _state(apps[0]).challenges.issue("device-1", "main")
    assert _state(apps[1]).challenges.redeem(ticket.nonce, "device-1", "main") == ticket
    assert len(_state(apps[0]).challenges) == 0
