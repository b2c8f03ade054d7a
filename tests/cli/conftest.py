"""Every CLI test runs on its own data directory, in development mode, without a key env."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    monkeypatch.setenv("FACEGATE_DATA_DIR", str(directory))
    monkeypatch.setenv("FACEGATE_ENV", "development")
    for name in ("FACEGATE_SITE_KEY", "FACEGATE_KEY_FILE", "FACEGATE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return directory
