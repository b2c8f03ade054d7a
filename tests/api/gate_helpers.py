"""Helpers of the gate device tests: a device's headers, a kiosk enrollment, the pipeline."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response

from facegate.api.state import AppState
from facegate.store import Store, SubjectInfo
from facegate.vision.pipeline import FacePipeline
from tests.store.helpers import OPERATOR, consented_subject

DECISIONS = "/api/v1/decisions"
ENROLLMENTS = "/api/v1/enrollments"
#: The only keys a decision response may have.
DECISION_KEYS = {"outcome", "reason", "decision_id", "alternatives"}


def device_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def use_pipeline(client: TestClient, *pipelines: FacePipeline) -> AppState:
    """Seed the app's pipeline pool with the session's pipeline (building the models again
    takes seconds), or with several distinct ones."""
    state: AppState = client.app.state.facegate  # type: ignore[attr-defined]
    state.pipelines.seed(*pipelines)
    return state


def decide(client: TestClient, key: str, kind: str, **form: str) -> Response:
    response: Response = client.post(
        DECISIONS, data={"gate": "main", "kind": kind, **form}, headers=device_headers(key)
    )
    return response


def decide_face(
    client: TestClient, key: str, image: bytes, subject_id: str | None = None
) -> Response:
    form = {"gate": "main", "kind": "face"}
    if subject_id is not None:
        form["subject_id"] = subject_id
    response: Response = client.post(
        DECISIONS,
        data=form,
        files={"image": ("frame.png", image, "image/png")},
        headers=device_headers(key),
    )
    return response


def kiosk_enroll(
    client: TestClient, key: str, code: str, images: list[bytes], gate: str = "main"
) -> Response:
    response: Response = client.post(
        ENROLLMENTS,
        data={"gate": gate, "code": code},
        files=[("images", (f"face{i}.png", img, "image/png")) for i, img in enumerate(images)],
        headers=device_headers(key),
    )
    return response


def enrolled_resident(
    client: TestClient, store: Store, key: str, image: bytes, site: str, name: str = "Zhang San"
) -> SubjectInfo:
    """A consented resident who enrolled ``image`` at the kiosk with a sign-in code."""
    subject = consented_subject(store, site, name=name)
    code = store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    response = kiosk_enroll(client, key, code, [image])
    assert response.status_code == 200, response.text
    assert response.json() == {"enrolled": 1, "subject_id": subject.id}
    return store.get_subject(subject.id)
