"""An auditor's explanation of a decision (issue 15, item 7): why it went the way it did,
in codes and coarse bands; never a score or a template, and never to devices or residents.
The real app, store and face pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from numpy.typing import NDArray

from facegate.gate.explanation import MarginBand
from facegate.store import Store
from facegate.store.accounts import Role
from facegate.store.records import DeletionReason
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import FacePipeline, Selection
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.api.gate_helpers import decide, decide_face, use_pipeline
from tests.api.signin import API, admin_token, bearer, resident_token
from tests.store.helpers import OPERATOR, consented_subject, random_embeddings

#: A field a score could hide in.
SCORE_NAMES = ("score", "similarity", "margin", "distance", "threshold")
#: The length of an embedding: an array this long in an answer is a template.
EMBEDDING_LENGTH = 128


def _url(decision_id: int, site: str = SITE) -> str:
    return f"{API}/sites/{site}/decisions/{decision_id}/explanation"


def _auditor(client: TestClient, store: Store) -> dict[str, str]:
    store.accounts.create_admin(
        SITE, f"auditor@{SITE}", ADMIN_PASSWORD, actor=OPERATOR, role=Role.AUDITOR
    )
    return bearer(admin_token(client, f"auditor@{SITE}"))


def _embedding(pipeline: FacePipeline, image: RGBImage) -> NDArray[np.float32]:
    face = pipeline.subject(image, Selection.LARGEST)
    assert face.embedding is not None
    return face.embedding


def _enrolled(store: Store, pipeline: FacePipeline, image: RGBImage) -> tuple[str, list[str]]:
    """A resident with three templates, only the middle one of the face in ``image``."""
    subject = consented_subject(store, SITE, name="Zhang San")
    others = random_embeddings(2, seed=7)
    vectors = [others[0], _embedding(pipeline, image), others[1]]
    ids = store.enroll(subject.id, vectors, pipeline.embedding_model, [0.9] * 3, OPERATOR)
    return subject.id, ids


def _leaks(value: Any, path: str = "") -> list[str]:
    """Where a JSON answer holds a float named like a score, or a 128-long array."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            named = any(word in str(key).lower() for word in SCORE_NAMES)
            if named and isinstance(item, float):
                found.append(f"{path}.{key}")
            found += _leaks(item, f"{path}.{key}")
    elif isinstance(value, list):
        if len(value) == EMBEDDING_LENGTH:
            found.append(f"{path}[{EMBEDDING_LENGTH}]")
        for index, item in enumerate(value):
            found += _leaks(item, f"{path}[{index}]")
    return found


@pytest.mark.rule("R-27")
def test_an_opening_names_the_template_that_matched_and_a_band_never_a_score(
    client: TestClient,
    store: Store,
    setup: Setup,
    pipeline: FacePipeline,
    face_rgb: RGBImage,
    face_png: bytes,
) -> None:
    use_pipeline(client, pipeline)
    subject_id, ids = _enrolled(store, pipeline, face_rgb)
    opened = decide_face(client, setup.device_key, face_png)
    assert opened.json()["outcome"] == "open", opened.text
    headers = _auditor(client, store)

    response = client.get(_url(opened.json()["decision_id"]), headers=headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "open"
    assert body["kind"] == "face"
    assert body["reason"] == "ok"
    assert body["liveness"] == "passive_ok"
    assert body["quality_reasons"] == []
    assert body["template"]["id_suffix"] == ids[1][-6:]
    assert body["template"]["state"] == "enrolled"
    assert body["template"]["enrolled_at"] is not None
    # The same face as enrolled: far above the threshold.
    assert body["margin_band"] == MarginBand.FAR_ABOVE.value
    assert body["operating_point"] == "fmr_1e-4"
    assert body["model"] == pipeline.embedding_model
    assert ids[1] not in response.text, "only a suffix of the template's id"
    assert _leaks(body) == []
    assert subject_id not in response.text


@pytest.mark.rule("R-23")
def test_after_erasure_the_explanation_names_no_template(
    client: TestClient,
    store: Store,
    setup: Setup,
    pipeline: FacePipeline,
    face_rgb: RGBImage,
    face_png: bytes,
) -> None:
    use_pipeline(client, pipeline)
    subject_id, _ = _enrolled(store, pipeline, face_rgb)
    opened = decide_face(client, setup.device_key, face_png).json()["decision_id"]
    store.delete_subject(subject_id, DeletionReason.REQUEST, actor=OPERATOR)

    response = client.get(_url(opened), headers=_auditor(client, store))

    assert response.status_code == 200, response.text
    template = response.json()["template"]
    assert template["state"] == "erased"
    assert template["enrolled_at"] is None
    assert subject_id not in response.text


def test_a_stranger_is_explained_by_a_band_below_and_no_template(
    client: TestClient, store: Store, setup: Setup, pipeline: FacePipeline, face_png: bytes
) -> None:
    use_pipeline(client, pipeline)
    stranger = consented_subject(store, SITE, name="Li Si")
    store.enroll(stranger.id, random_embeddings(2, seed=3), pipeline.embedding_model,
                 [0.9, 0.9], OPERATOR)  # fmt: skip
    denied = decide_face(client, setup.device_key, face_png).json()
    assert denied["outcome"] == "deny"

    body = client.get(_url(denied["decision_id"]), headers=_auditor(client, store)).json()

    assert body["margin_band"] in (MarginBand.FAR_BELOW.value, MarginBand.NEAR_BELOW.value)
    assert body["template"] is None
    assert body["reason"] == "not_recognized"


def test_a_card_decision_is_explained_without_face_fields(
    client: TestClient, store: Store, setup: Setup
) -> None:
    decided = decide(client, setup.device_key, "card", secret="no-such-card").json()

    body = client.get(_url(decided["decision_id"]), headers=_auditor(client, store)).json()

    assert body["kind"] == "card"
    assert body["outcome"] == decided["outcome"]
    assert (body["template"], body["margin_band"], body["liveness"]) == (None, None, None)


def test_devices_residents_the_desk_and_other_sites_are_refused(
    client: TestClient, store: Store, setup: Setup
) -> None:
    decision = decide(client, setup.device_key, "card", secret="no-such-card").json()["decision_id"]
    resident = consented_subject(store, SITE, name="Wang Wu")
    store.accounts.create_admin(
        SITE, f"desk@{SITE}", ADMIN_PASSWORD, actor=OPERATOR, role=Role.OPERATOR
    )
    refused = {
        "device": (bearer(setup.device_key), 401),
        "resident": (bearer(resident_token(client, store, SITE, resident.id)), 403),
        "desk": (bearer(admin_token(client, f"desk@{SITE}")), 403),
        "other site": (bearer(admin_token(client, f"admin@{OTHER_SITE}")), 403),
    }
    for who, (headers, status) in refused.items():
        response = client.get(_url(decision), headers=headers)
        assert response.status_code == status, who
        assert set(response.json()) == {"error"}, who
    # The administrator reads it; another site's decision id is a 404 here.
    admin = bearer(admin_token(client, setup.admin_user))
    assert client.get(_url(decision), headers=admin).status_code == 200
    other = store.record_decision(OTHER_SITE, "device:x", "decision.verify", None, "deny")
    assert client.get(_url(other), headers=admin).status_code == 404
    # An id past 64 bits cannot exist: a clear refusal, not a database overflow.
    assert client.get(_url(2**64), headers=admin).status_code == 422


@pytest.mark.rule("R-27")
def test_devices_and_residents_never_get_a_score_or_a_template(
    client: TestClient,
    store: Store,
    setup: Setup,
    pipeline: FacePipeline,
    face_rgb: RGBImage,
    face_png: bytes,
) -> None:
    use_pipeline(client, pipeline)
    subject_id, _ = _enrolled(store, pipeline, face_rgb)
    resident = bearer(resident_token(client, store, SITE, subject_id))
    answers = {
        "open": decide_face(client, setup.device_key, face_png),
        "claimed": decide_face(client, setup.device_key, face_png, subject_id),
        "me": client.get(f"{API}/me", headers=resident),
        "me/export": client.get(f"{API}/me/export", headers=resident),
        "me/passes": client.get(f"{API}/me/passes", headers=resident),
    }
    for name, response in answers.items():
        assert response.status_code == 200, f"{name}: {response.text}"
        assert _leaks(response.json()) == [], name
    assert answers["open"].json()["outcome"] == "open"
    # The explanation's fields are the auditor's: the person's own export leaves them out.
    exported = answers["me/export"].json()["audit_events"]
    decisions = [e for e in exported if str(e["action"]).startswith("decision.")]
    assert decisions
    for event in decisions:
        assert "margin_band" not in event["detail"]
        assert "template_id" not in event["detail"]
    for decision in (answers["open"], answers["claimed"]):
        for headers in (bearer(setup.device_key), resident):
            denied = client.get(_url(decision.json()["decision_id"]), headers=headers)
            assert denied.status_code in (401, 403)


def test_the_leak_scan_finds_a_score_and_a_template() -> None:
    """The scan above would catch a score or an embedding (it is not vacuous)."""
    assert _leaks({"outcome": "open", "score": 0.71}) == [".score"]
    assert _leaks({"items": [{"margin": -0.02}]}) == [".items[0].margin"]
    assert _leaks({"t": [0.0] * EMBEDDING_LENGTH}) == [f".t[{EMBEDDING_LENGTH}]"]
    assert _leaks({"margin_band": "far_above", "count": 3}) == []
