"""A site enrolled under the dlib engine moves to SFace: nobody is locked out, new
enrollments use SFace, and the people still on dlib are counted and asked to re-enroll."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from facegate.cli.main import main
from facegate.core.config import Engine
from facegate.gate.decider import SAME_FACE_IOU
from facegate.recognition import enroll_images
from facegate.store import Store
from facegate.store.site_reads import template_models
from facegate.vision.engines import census, embedding_model
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.record import Box
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import decide_face, kiosk_enroll, use_pipeline
from tests.api.signin import API, bearer, resident_token
from tests.store.helpers import OPERATOR, consented_subject


def test_a_site_enrolled_under_dlib_keeps_opening_while_people_move_to_sface(
    client: TestClient,
    store: Store,
    setup: Setup,
    pipeline: FacePipeline,
    dlib_pipeline: FacePipeline,
    face_png: bytes,
) -> None:
    state = use_pipeline(client, pipeline)
    assert state.settings.engine is Engine.SFACE
    resident = consented_subject(store, SITE)
    enroll_images(store, dlib_pipeline, resident.id, [face_png], OPERATOR, 40_000_000)
    models = template_models(store, SITE)
    assert models == {resident.id: frozenset({embedding_model(Engine.DLIB)})}
    assert census(models, Engine.SFACE).to_reenroll == 1

    # Matched with the engine of their templates, and asked to enroll again.
    opened = decide_face(client, setup.device_key, face_png)
    assert opened.status_code == 200, opened.text
    assert (opened.json()["outcome"], opened.json().get("prompt")) == ("open", "reenroll")
    verified = decide_face(client, setup.device_key, face_png, subject_id=resident.id)
    assert (verified.json()["outcome"], verified.json().get("prompt")) == ("open", "reenroll")
    token = resident_token(client, store, SITE, resident.id)
    assert client.get(f"{API}/me", headers=bearer(token)).json()["face_reenroll"] is True

    # Enrolling again at the kiosk makes SFace templates; the prompt stops.
    code = store.accounts.issue_signin_code(resident.id, actor=OPERATOR)
    assert kiosk_enroll(client, setup.device_key, code, [face_png]).status_code == 200
    models = template_models(store, SITE)
    assert embedding_model(Engine.SFACE) in models[resident.id]
    assert census(models, Engine.SFACE).to_reenroll == 0
    again = decide_face(client, setup.device_key, face_png)
    assert again.json()["outcome"] == "open"
    assert "prompt" not in again.json()
    assert client.get(f"{API}/me", headers=bearer(token)).json()["face_reenroll"] is False


@pytest.mark.shared_data
def test_a_stranger_is_still_denied_when_legacy_templates_exist(
    client: TestClient,
    store: Store,
    setup: Setup,
    pipeline: FacePipeline,
    dlib_pipeline: FacePipeline,
    face_png: bytes,
    shared_data_dir: Path,
) -> None:
    """The older engine is a second chance for its own people only, not a looser door:
    a real stranger's face (LFW) is denied by both engines."""
    use_pipeline(client, pipeline)
    resident = consented_subject(store, SITE)
    enroll_images(store, dlib_pipeline, resident.id, [face_png], OPERATOR, 40_000_000)
    folder = shared_data_dir / "lfw_deepfunneled_subset" / "images" / "Al_Gore"
    for photo in sorted(folder.iterdir())[:3]:
        answer = decide_face(client, setup.device_key, photo.read_bytes()).json()
        assert answer["outcome"] != "open", photo.name


def test_engine_status_counts_who_must_re_enroll(
    store: Store,
    setup: Setup,
    dlib_pipeline: FacePipeline,
    face_png: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    resident = consented_subject(store, SITE)
    enroll_images(store, dlib_pipeline, resident.id, [face_png], OPERATOR, 40_000_000)
    data_dir = str(store.settings.data_dir)
    code = main(["--json", "--data-dir", data_dir, "engine", "status", "--site", SITE])
    assert code == 0
    out = capsys.readouterr().out
    assert '"to_reenroll": 1' in out
    assert '"engine": "sface"' in out


def test_the_older_engine_only_matches_the_face_that_passed_the_checks(
    client: TestClient, store: Store, setup: Setup, pipeline: FacePipeline, face_rgb: RGBImage
) -> None:
    """Quality and liveness were checked on the current engine's face: the older engine may
    not pick another one (a photo held up beside a live face)."""
    state = use_pipeline(client, pipeline)
    decider = state.runtime.decider(store, state.settings.max_image_pixels)
    checked = pipeline.subject(face_rgb, Selection.LARGEST).box
    same = decider._legacy_face(Engine.DLIB, face_rgb, checked)
    assert same is not None
    assert same.box.iou(checked) >= SAME_FACE_IOU
    elsewhere = Box(0.0, 0.0, 60.0, 60.0)
    assert decider._legacy_face(Engine.DLIB, face_rgb, elsewhere) is None
