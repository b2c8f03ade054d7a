"""The runtime, built in one place: a model file that fails its hash is an incident (R-28)
whether the service or the CLI loads it, and nothing is decided with it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facegate.api.app import create_app
from facegate.cli import main as cli_main
from facegate.core.config import Settings
from facegate.errors import ModelIntegrityError
from facegate.liveness.passive import PAD_MODEL
from facegate.models.registry import ModelRegistry
from facegate.store import Store
from facegate.store.audit import AuditAction
from facegate.store.records import IncidentKind
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import decide_face
from tests.gate.helpers import run_cli
from tests.store.helpers import consented_subject

#: Which model is swapped: the pipeline's embedding model, or the passive PAD model.
EMBEDDING, PAD = "embedding", "pad"


def _swapped(registry: ModelRegistry, name: str) -> ModelRegistry:
    """``registry`` expecting another hash for ``name``, as if its file had been swapped."""
    entries = {n: registry.entry(n) for n in registry.names}
    entries[name] = replace(entries[name], sha256="0" * 64)
    return ModelRegistry(entries)


@pytest.fixture(params=[EMBEDDING, PAD])
def swapped_model(
    request: pytest.FixtureRequest,
    registry: ModelRegistry,
    pipeline: FacePipeline,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """Every registry built from here on refuses one model file; the CLI builds afresh."""
    name = pipeline.embedding_model if request.param == EMBEDDING else PAD_MODEL
    altered = _swapped(registry, name)
    monkeypatch.setattr(ModelRegistry, "default", classmethod(lambda cls: altered))
    monkeypatch.setattr(cli_main._state, "_pipeline", None)
    return name


def _no_face_decisions(store: Store, subject_id: str) -> None:
    actions = {e.action for e in store.audit_events(subject_id)}
    assert AuditAction.DECISION_VERIFY not in actions


@pytest.mark.rule("R-28")
def test_the_service_records_a_swapped_model_as_an_incident(
    store: Store, settings: Settings, setup: Setup, face_png: bytes, swapped_model: str
) -> None:
    subject = consented_subject(store, SITE)
    with TestClient(create_app(settings, store=store), raise_server_exceptions=False) as client:
        response = decide_face(client, setup.device_key, face_png, subject.id)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "model_integrity"
        again = decide_face(client, setup.device_key, face_png, subject.id)
        assert again.status_code == 503  # refused on every load, never decided with
    [incident] = store.incidents.list()  # the same failure again is the same incident
    assert incident.kind is IncidentKind.MODEL_INTEGRITY
    assert swapped_model in incident.detail
    _no_face_decisions(store, subject.id)


@pytest.mark.rule("R-28")
def test_the_cli_records_a_swapped_model_as_an_incident(
    store: Store,
    settings: Settings,
    setup: Setup,
    face_png: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    swapped_model: str,
) -> None:
    subject = consented_subject(store, SITE)
    image = tmp_path / "probe.png"
    image.write_bytes(face_png)
    code, body = run_cli(capsys, settings.data_dir, "verify", subject.id, str(image))
    assert (code, body["error"]["code"]) == (ModelIntegrityError.exit_code, "model_integrity")
    [incident] = store.incidents.list()
    assert incident.kind is IncidentKind.MODEL_INTEGRITY
    assert swapped_model in incident.detail
    _no_face_decisions(store, subject.id)
