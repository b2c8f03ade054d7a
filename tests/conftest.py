"""Shared fixtures: real images from scikit-image, the default pipeline, ../shared/data."""

from __future__ import annotations

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
