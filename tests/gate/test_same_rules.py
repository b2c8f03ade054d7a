"""One face, two doors: the gate API and the CLI decide it by the same rules.

The same resident, the same image and the same store: the quality gate and the passive
liveness check refuse on both paths, and each decision writes one ``decision.verify``
event whose detail is the same but for the gate and device that only a gate device has.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from numpy.typing import NDArray
from PIL import Image, ImageFilter

from facegate.core.config import Settings
from facegate.errors import FaceError
from facegate.fixtures import encode_png
from facegate.gate.liveness import GateLiveness, LivenessResult
from facegate.store import Store
from facegate.store.audit import AuditAction, AuditRecord
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import FacePipeline
from facegate.vision.record import Box
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import decide_face, enrolled_resident, use_pipeline
from tests.gate.helpers import run_cli

#: What only a gate device's decision names.
GATE_KEYS = {"gate", "device"}


def _refuse(self: GateLiveness, image: RGBImage, box: Box) -> LivenessResult:
    """The shipped passive check, as it answers a print held up to the camera."""
    return LivenessResult(passed=False, reason="passive_attack")


def _verify_events(store: Store, subject_id: str) -> list[AuditRecord]:
    return [e for e in store.audit_events(subject_id) if e.action == AuditAction.DECISION_VERIFY]


@pytest.mark.parametrize(
    ("presented", "api_answer", "cli_exit", "cli_error"),
    [
        ("sharp", ("open", "ok"), 0, None),
        ("blurred", ("try_another", "poor_quality"), FaceError.exit_code, "poor_quality"),
        ("print", ("try_another", "liveness_failed"), FaceError.exit_code, "liveness_failed"),
    ],
)
def test_the_api_and_the_cli_decide_a_face_by_the_same_rules(
    client: TestClient,
    store: Store,
    settings: Settings,
    setup: Setup,
    pipeline: FacePipeline,
    face_rgb: NDArray[np.uint8],
    face_png: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    presented: str,
    api_answer: tuple[str, str],
    cli_exit: int,
    cli_error: str | None,
) -> None:
    use_pipeline(client, pipeline)
    subject = enrolled_resident(client, store, setup.device_key, face_png, SITE)
    image = face_png
    if presented == "blurred":
        image = encode_png(
            np.asarray(Image.fromarray(face_rgb).filter(ImageFilter.GaussianBlur(3)))
        )
    if presented == "print":
        monkeypatch.setattr(GateLiveness, "passive", _refuse)  # on both paths' checks
    path = tmp_path / "probe.png"
    path.write_bytes(image)

    response = decide_face(client, setup.device_key, image, subject.id)
    assert response.status_code == 200, response.text
    assert (response.json()["outcome"], response.json()["reason"]) == api_answer
    assert len(_verify_events(store, subject.id)) == 1
    code, body = run_cli(capsys, settings.data_dir, "verify", subject.id, str(path))
    assert code == cli_exit, body
    if cli_error is None:
        assert body["verification"]["decision"] == "match"
    else:
        assert body["error"]["code"] == cli_error

    api_event, cli_event = _verify_events(store, subject.id)
    assert api_event.actor.startswith("device:")
    assert cli_event.actor == "cli"
    assert set(api_event.detail) - set(cli_event.detail) == GATE_KEYS
    assert {k: v for k, v in api_event.detail.items() if k not in GATE_KEYS} == cli_event.detail
    assert cli_event.detail["outcome"] == api_answer[0]
    assert cli_event.detail["reason"] == api_answer[1]
    if presented == "blurred":
        assert cli_event.detail["quality_reasons"] == "blurred"
        assert body["error"]["reasons"] == ["blurred"]
    if presented == "print":
        assert cli_event.detail["liveness"] == "passive_attack"
        assert body["error"]["reasons"] == ["passive_attack"]
    for event in (api_event, cli_event):
        assert not any(isinstance(value, float) for value in event.detail.values())


def test_an_offline_photo_check_skips_liveness_and_says_so(
    client: TestClient,
    store: Store,
    settings: Settings,
    setup: Setup,
    pipeline: FacePipeline,
    face_png: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the operator may skip the passive check, and the audit records that it did."""
    use_pipeline(client, pipeline)
    subject = enrolled_resident(client, store, setup.device_key, face_png, SITE)
    monkeypatch.setattr(GateLiveness, "passive", _refuse)
    path = tmp_path / "photo.png"
    path.write_bytes(face_png)
    code, body = run_cli(
        capsys, settings.data_dir, "verify", "--skip-liveness", subject.id, str(path)
    )
    assert code == 0, body
    assert body["verification"]["liveness"] == "skipped"
    [event] = _verify_events(store, subject.id)
    assert (event.detail["outcome"], event.detail["liveness"]) == ("open", "skipped")
    assert "passive" not in event.detail
