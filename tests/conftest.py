"""Shared fixtures: real images from scikit-image, the default pipeline, ../shared/data."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate import fixtures
from facegate.core.config import Engine
from facegate.fixtures import SHARED_DATA_ENV, astronaut, encode_png
from facegate.models.registry import ModelRegistry
from facegate.vision.pipeline import FacePipeline

# Records the outcome of every test marked rule(...) for the compliance report;
# pytester runs that plugin in the compliance report's own tests.
pytest_plugins = ["facegate.testing.rule_results", "pytester"]

REPO_ROOT = Path(__file__).resolve().parents[1]

#: An admin URL to a running PostgreSQL server's ``postgres`` database (``.ci/with-postgres``
#: sets it). Read at import: tests/store's autouse fixture clears FACEGATE_* variables.
POSTGRES_ENV = "FACEGATE_TEST_POSTGRES_URL"
POSTGRES_ADMIN_URL = os.environ.get(POSTGRES_ENV)


@pytest.fixture
def shared_data_dir() -> Path:
    """``$FACEGATE_SHARED_DATA`` if set, else ``<repo>/../shared/data``; skip when absent."""
    root = fixtures.shared_data_dir(REPO_ROOT)
    if root is None:
        pytest.skip(f"shared face data not found beside {REPO_ROOT} (set {SHARED_DATA_ENV})")
    return root


@pytest.fixture(scope="session")
def registry() -> ModelRegistry:
    return ModelRegistry.default()


@pytest.fixture(scope="session")
def pipeline(registry: ModelRegistry) -> FacePipeline:
    """The default engine's pipeline (SFace)."""
    return FacePipeline.default(registry)


@pytest.fixture(scope="session")
def dlib_pipeline(registry: ModelRegistry) -> FacePipeline:
    """The legacy dlib engine's pipeline."""
    return FacePipeline.default(registry, engine=Engine.DLIB)


@pytest.fixture(scope="session")
def face_rgb() -> NDArray[np.uint8]:
    """The astronaut photo: one real frontal face, ``(512, 512, 3)`` uint8."""
    return astronaut()


@pytest.fixture(scope="session")
def face_png(face_rgb: NDArray[np.uint8]) -> bytes:
    return encode_png(face_rgb)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the test is about SQLite itself; skipped on PostgreSQL"
    )


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database a test's store runs on: ``sqlite``, or ``postgresql`` where
    tests/store/conftest.py parametrizes it; a test marked ``sqlite_only`` skips on the latter.
    """
    name: str = getattr(request, "param", "sqlite")
    marker = request.node.get_closest_marker("sqlite_only")
    if name == "postgresql" and marker is not None:
        pytest.skip(f"SQLite only: {marker.args[0] if marker.args else 'SQLite-specific'}")
    return name


@pytest.fixture
def postgres_databases() -> Iterator[Callable[[], str]]:
    """Makes fresh, empty PostgreSQL databases: each call returns a ``postgresql+psycopg://``
    URL. All are dropped after the test; skips when ``$FACEGATE_TEST_POSTGRES_URL`` is unset
    (``bash .ci/with-postgres pytest ...`` sets it).
    """
    if not POSTGRES_ADMIN_URL:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server (.ci/with-postgres)")
    import psycopg  # the facegate[postgres] extra
    from sqlalchemy.engine import make_url

    admin = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
    admin_dsn = admin.render_as_string(hide_password=False)
    made: list[str] = []

    def make() -> str:
        name = f"facegate_test_{secrets.token_hex(6)}"
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        url = admin.set(drivername="postgresql+psycopg", database=name)
        return url.render_as_string(hide_password=False)

    try:
        yield make
    finally:
        if made:
            with psycopg.connect(admin_dsn, autocommit=True) as connection:
                for name in made:
                    # FORCE ends connections a test left open (PostgreSQL 13+).
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_databases: Callable[[], str]) -> str:
    """A fresh, empty PostgreSQL database for this test: its ``postgresql+psycopg://`` URL,
    dropped afterwards; skips without ``$FACEGATE_TEST_POSTGRES_URL``."""
    return postgres_databases()
