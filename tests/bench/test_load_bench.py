"""`facegate bench load`: the in-process run, the served run with several workers (and on
PostgreSQL when a server is given), and the development-only switch that turns limits off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from facegate.bench.load import LoadKind, run_load
from facegate.core.config import Environment, Settings
from facegate.errors import ConfigError

pytest.importorskip("httpx", reason="bench load drives the service with httpx (facegate[eval])")

#: The PostgreSQL server of .ci/with-postgres, read before any fixture clears FACEGATE_*.
POSTGRES_ADMIN_URL = os.environ.get("FACEGATE_TEST_POSTGRES_URL")


def test_rate_limits_may_be_off_in_development_only(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).rate_limits is True
    assert Settings(data_dir=tmp_path, rate_limits=False).rate_limits is False
    with pytest.raises(ValidationError, match="RATE_LIMITS"):
        Settings(
            data_dir=tmp_path,
            env=Environment.PRODUCTION,
            key_file=tmp_path / "site.key",
            rate_limits=False,
        )


def test_one_worker_in_process_opens_every_card() -> None:
    result = run_load(LoadKind.CARD, devices=2, seconds=1.5)

    assert result.decisions > 0
    assert result.errors == 0
    assert result.outcomes == {"open": result.decisions}
    assert (result.workers, result.database) == (1, "sqlite")


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_served_workers_open_every_card(database: str) -> None:
    if database == "postgresql" and POSTGRES_ADMIN_URL is None:
        pytest.skip("no PostgreSQL server: run under .ci/with-postgres")
    postgres_url = POSTGRES_ADMIN_URL if database == "postgresql" else None

    result = run_load(LoadKind.CARD, devices=4, seconds=2, workers=2, postgres_url=postgres_url)

    assert result.decisions > 0
    assert result.errors == 0
    assert result.outcomes == {"open": result.decisions}
    assert (result.workers, result.database) == (2, database)


def test_the_served_run_refuses_a_database_that_is_not_postgresql() -> None:
    with pytest.raises(ConfigError, match="must be PostgreSQL"):
        run_load(LoadKind.CARD, devices=1, seconds=1, postgres_url="sqlite:///x.sqlite")
