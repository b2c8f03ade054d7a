"""The model files are re-hashed while the service runs (R-28): a changed byte is an
incident, and faces are refused (cards still open) until a restart."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from facegate.api.app import create_app
from facegate.core.config import Environment, Settings
from facegate.errors import ModelIntegrityError
from facegate.liveness.passive import PAD_MODEL
from facegate.models.registry import ModelRegistry
from facegate.models.watch import ModelWatch, tick
from facegate.store import Store
from facegate.store.records import IncidentKind
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import decide, decide_face, use_pipeline
from tests.store.helpers import OPERATOR, consented_subject


def _registry_on_copy(
    registry: ModelRegistry, name: str, directory: Path
) -> tuple[ModelRegistry, Path]:
    """``registry`` whose ``name`` is read from a copy of its file in ``directory``."""
    copy = directory / Path(registry.default_path(name)).name
    shutil.copyfile(registry.default_path(name), copy)
    entries = {n: registry.entry(n) for n in registry.names}
    entries[name] = replace(entries[name], directory=directory, package=None)
    return ModelRegistry(entries), copy


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def watched_copy(registry: ModelRegistry, tmp_path: Path) -> tuple[ModelWatch, Path]:
    """A watch over every model, the PAD model read from a temporary copy."""
    directory = tmp_path / "models"
    directory.mkdir()
    on_copy, copy = _registry_on_copy(registry, PAD_MODEL, directory)
    return ModelWatch(on_copy), copy


@pytest.mark.rule("R-28", "R-10")
def test_a_changed_byte_is_an_incident_and_faces_fail_closed(
    client: TestClient,
    store: Store,
    setup: Setup,
    pipeline: FacePipeline,
    face_png: bytes,
    watched_copy: tuple[ModelWatch, Path],
) -> None:
    state = use_pipeline(client, pipeline)
    watch, copy = watched_copy
    state.model_watch = watch
    assert PAD_MODEL in watch.names
    assert tick(watch, store) is None
    assert store.incidents.list() == []
    assert decide_face(client, setup.device_key, face_png).json()["reason"] == "not_recognized"

    _flip_one_byte(copy)
    failure = tick(watch, store)
    assert failure is not None
    assert PAD_MODEL in failure
    [incident] = store.incidents.list()
    assert incident.kind is IncidentKind.MODEL_INTEGRITY
    assert str(copy) in incident.detail
    refused = decide_face(client, setup.device_key, face_png)
    assert refused.status_code == 200, refused.text
    assert (refused.json()["outcome"], refused.json()["reason"]) == ("deny", "face_unavailable")
    # The same failure again is the same incident; restoring the file does not lift it.
    shutil.copyfile(state.registry.default_path(PAD_MODEL), copy)
    assert tick(watch, store) == failure
    assert len(store.incidents.list()) == 1
    assert decide_face(client, setup.device_key, face_png).json()["reason"] == "face_unavailable"
    # a card still opens.
    subject = consented_subject(store, SITE)
    store.credentials.issue_card(subject.id, "04A1B2C3", actor=OPERATOR)
    opened = decide(client, setup.device_key, "card", secret="04A1B2C3").json()
    assert (opened["outcome"], opened["reason"]) == ("open", "ok")


def test_unchanged_files_pass_every_tick(
    store: Store, watched_copy: tuple[ModelWatch, Path]
) -> None:
    watch, _ = watched_copy
    for _ in range(2):
        assert tick(watch, store) is None
    assert watch.intact
    assert store.incidents.list() == []


@pytest.mark.rule("R-28")
def test_the_service_runs_the_check_on_its_timer(
    store: Store, settings: Settings, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    def swapped(self: ModelRegistry, name: str, path: Path | None = None) -> Path:
        raise ModelIntegrityError(f"model {name!r}: changed on disk (test)")

    fast = settings.model_copy(update={"model_check_interval_s": 0.05})
    with TestClient(create_app(fast, store=store), raise_server_exceptions=False) as client:
        monkeypatch.setattr(ModelRegistry, "verified_path", swapped)
        deadline = time.monotonic() + 30.0
        while not store.incidents.list() and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.undo()
        assert not client.app.state.facegate.model_watch.intact  # type: ignore[attr-defined]
    [incident] = store.incidents.list()
    assert incident.kind is IncidentKind.MODEL_INTEGRITY


def test_the_check_may_be_off_in_development_only(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).model_check_interval_s == 3600.0
    assert Settings(data_dir=tmp_path, model_check_interval_s=0).model_check_interval_s == 0
    with pytest.raises(ValidationError, match="MODEL_CHECK_INTERVAL_S"):
        Settings(
            data_dir=tmp_path,
            env=Environment.PRODUCTION,
            key_file=tmp_path / "site.key",
            model_check_interval_s=0,
        )
