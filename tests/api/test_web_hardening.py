"""The holes an outside review found in the web service, each closed and kept closed.

Cross-site requests riding on the session cookie, docs assets from a CDN, anonymous
metrics, one huge frame stalling every gate, a site's admin seeing or purging other sites.
(Chunked bodies and forwarded addresses need a real uvicorn: ``test_live_server.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facegate.api.app import create_app
from facegate.api.state import AppState
from facegate.core.config import Environment, Settings
from facegate.fixtures import encode_png
from facegate.gate.frames import MAX_FRAME_SIDE
from facegate.store import Store, SubjectKind
from facegate.store.records import SubjectStatus
from facegate.store.schema import utcnow
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.record import Face
from tests.api.conftest import ADMIN_PASSWORD, OTHER_SITE, SITE, Setup
from tests.api.gate_helpers import decide, decide_face, use_pipeline
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import OPERATOR

SITE_API = f"{API}/sites/{SITE}"
OWN_ORIGIN = "http://testserver"


def _signed_in_by_cookie(client: TestClient, setup: Setup) -> None:
    response = client.post(
        f"{API}/auth/admin", json={"username": setup.admin_user, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    assert client.cookies.get("facegate_session")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "https://evil.example"}, {"Origin": "null"}, {"Referer": "http://x.test/a"}],
)
def test_a_cookie_signed_state_change_from_elsewhere_is_refused(
    client: TestClient, setup: Setup, headers: dict[str, str]
) -> None:
    _signed_in_by_cookie(client, setup)
    # Bodiless POST and DELETE were the review's examples: sign-out and device revocation.
    device_id = client.get(f"{SITE_API}/devices").json()[0]["id"]
    revoked = client.delete(f"{SITE_API}/devices/{device_id}", headers=headers)
    assert revoked.status_code == 403
    assert revoked.json()["error"]["code"] == "cross_origin_refused"
    assert client.post(f"{API}/auth/logout", headers=headers).status_code == 403
    # Nothing happened: the device still works and the session is still valid.
    assert decide(client, setup.device_key, "card", secret="0BADCAFE").status_code == 200
    assert client.get(f"{SITE_API}/devices").status_code == 200


def test_the_pages_own_origin_and_bearer_clients_pass(client: TestClient, setup: Setup) -> None:
    _signed_in_by_cookie(client, setup)
    device_id = client.get(f"{SITE_API}/devices").json()[0]["id"]
    assert client.delete(
        f"{SITE_API}/devices/{device_id}", headers={"Origin": OWN_ORIGIN}
    ).is_success
    assert client.post(f"{API}/auth/logout", headers={"Referer": f"{OWN_ORIGIN}/admin"}).is_success
    # An API client with a bearer token is not a browser a forger can steer.
    token = admin_token(client, setup.admin_user)
    listed = client.get(f"{SITE_API}/devices", headers=bearer(token))
    assert listed.status_code == 200


def test_a_forged_sign_in_from_another_site_is_refused(client: TestClient, setup: Setup) -> None:
    response = client.post(
        f"{API}/auth/admin",
        json={"username": setup.admin_user, "password": ADMIN_PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def _app_client(tmp_path: Path, **settings: Any) -> Iterator[TestClient]:
    env = settings.pop("env", Environment.DEVELOPMENT)
    config = Settings(data_dir=tmp_path / "data", env=env, **settings)
    with TestClient(create_app(config), raise_server_exceptions=False) as test:
        yield test


def test_docs_are_served_from_the_package_not_a_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200


def test_production_hides_the_docs_and_closes_metrics_without_a_token(tmp_path: Path) -> None:
    key = "A" * 43 + "="
    for test in _app_client(tmp_path, env=Environment.PRODUCTION, site_key=key):
        assert test.get("/docs").status_code == 404
        assert test.get("/openapi.json").status_code == 404
        assert test.get("/metrics").status_code == 403
        assert test.get("/healthz").status_code == 200


def test_metrics_with_a_token_need_that_token(tmp_path: Path) -> None:
    for test in _app_client(tmp_path, metrics_token="scrape-me-please-0123456789"):
        assert test.get("/metrics").status_code == 401
        assert test.get("/metrics", headers=bearer("wrong-token-0123456789")).status_code == 401
        scraped = test.get("/metrics", headers=bearer("scrape-me-please-0123456789"))
        assert scraped.status_code == 200
        assert "facegate" in scraped.text


class _RecordingPipeline:
    """The real pipeline, noting the size of every frame it is handed."""

    def __init__(self, pipeline: FacePipeline) -> None:
        self._pipeline = pipeline
        self.shapes: list[tuple[int, ...]] = []

    def subject(self, image: RGBImage, selection: Selection) -> Face:
        self.shapes.append(image.shape)
        return self._pipeline.subject(image, selection)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipeline, name)


def test_a_huge_frame_is_matched_on_a_bounded_copy(
    client: TestClient, setup: Setup, pipeline: FacePipeline, face_rgb: RGBImage
) -> None:
    """A small PNG that decodes to 6000×6000 once held the one pipeline for seconds."""
    recorder = _RecordingPipeline(pipeline)
    use_pipeline(client, recorder)  # type: ignore[arg-type]
    huge = np.zeros((6000, 6000, 3), dtype=np.uint8)
    huge[2000 : 2000 + face_rgb.shape[0], 2000 : 2000 + face_rgb.shape[1]] = face_rgb
    png = encode_png(huge)
    assert len(png) < 1_000_000
    response = decide_face(client, setup.device_key, png)
    assert response.status_code == 200, response.text
    assert recorder.shapes == [(MAX_FRAME_SIDE, MAX_FRAME_SIDE, 3)]


def test_a_device_has_one_face_in_the_pipeline_at_a_time(
    client: TestClient, store: Store, setup: Setup, pipeline: FacePipeline, face_png: bytes
) -> None:
    state: AppState = use_pipeline(client, pipeline)
    device = store.devices.authenticate(setup.device_key)
    other = store.devices.register(SITE, "Kiosk 2", ["main"], actor=OPERATOR)
    with state.face_turn(device.id):  # its previous frame is still being decided
        busy = decide_face(client, setup.device_key, face_png)
        assert busy.status_code == 429
        assert busy.json()["error"]["code"] == "rate_limited"
        assert decide_face(client, other.api_key, face_png).status_code == 200
    assert decide_face(client, setup.device_key, face_png).status_code == 200


def test_a_site_admin_counts_only_their_own_sites_audit_events(
    client: TestClient, store: Store, setup: Setup
) -> None:
    admin = bearer(admin_token(client, setup.admin_user))
    before = client.post(f"{SITE_API}/audit/verify", headers=admin).json()
    # Busy elsewhere: the other site's activity does not show in this site's count.
    for index in range(5):
        store.add_subject(OTHER_SITE, f"Resident {index}", SubjectKind.RESIDENT, actor=OPERATOR)
    after = client.post(f"{SITE_API}/audit/verify", headers=admin).json()
    assert after["ok"] is True
    assert after["events_checked"] == before["events_checked"]


def test_retention_run_from_one_site_leaves_other_sites_alone(
    client: TestClient, store: Store, setup: Setup
) -> None:
    long_ago = utcnow() - timedelta(days=365)
    mine = store.add_subject(SITE, "Mine", SubjectKind.RESIDENT, actor=OPERATOR)
    theirs = store.add_subject(OTHER_SITE, "Theirs", SubjectKind.RESIDENT, actor=OPERATOR)
    for subject in (mine, theirs):
        store.retention.record_move_out(subject.id, long_ago, actor=OPERATOR)
    admin = bearer(admin_token(client, setup.admin_user))
    ran = client.post(f"{SITE_API}/retention/run", headers=admin)
    assert ran.status_code == 200, ran.text
    assert len(ran.json()["receipts"]) == 1
    assert store.get_subject(theirs.id).status is SubjectStatus.ACTIVE
    assert store.get_subject(mine.id).status is SubjectStatus.DELETED


def test_a_named_proxy_is_believed_about_the_client_address(tmp_path: Path) -> None:
    """Behind the proxy in FACEGATE_TRUSTED_PROXIES each client keeps its own sign-in
    budget (Starlette's test client connects as the host ``testclient``)."""
    for test in _app_client(tmp_path, trusted_proxies="testclient"):
        statuses = {
            test.post(
                f"{API}/auth/admin",
                json={"username": "nobody", "password": "wrong password here"},
                headers={"X-Forwarded-For": f"198.51.100.{attempt}"},
            ).status_code
            for attempt in range(25)
        }
        assert statuses == {401}
