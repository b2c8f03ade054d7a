"""POST /api/v1/decisions with the probe detector: a device that probes is held."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from facegate.api.i18n import STRINGS
from facegate.fixtures import encode_png
from facegate.gate.probe import DEFAULT_PROBE_LIMITS, ProbeDetector
from facegate.store import Store
from facegate.store.audit import AuditAction
from facegate.store.records import IncidentKind
from facegate.store.schema import AuditEvent
from facegate.store.site_reads import recent_decisions
from facegate.vision.image import load_image
from facegate.vision.pipeline import FacePipeline
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import DECISION_KEYS, decide, decide_face, use_pipeline
from tests.store.helpers import OPERATOR, consented_subject

CJK = re.compile(r"[\u4e00-\u9fff]")
#: A small count, so the test sends few faces; the default limits are tested on their own.
LIMITS = replace(DEFAULT_PROBE_LIMITS, count=3)


def _probes(face_rgb: np.ndarray, n: int) -> list[bytes]:
    """``n`` copies of one photo, each with its own faint noise (a query attack's probes)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        noisy = face_rgb.astype(np.float64) + rng.normal(0.0, 2.0, face_rgb.shape)
        out.append(encode_png(np.clip(np.rint(noisy), 0, 255).astype(np.uint8)))
    return out


@pytest.mark.rule("R-10")
def test_a_probing_device_is_held_once_and_its_card_still_opens(
    client: TestClient,
    store: Store,
    setup: Setup,
    pipeline: FacePipeline,
    face_rgb: np.ndarray,
) -> None:
    state = use_pipeline(client, pipeline)
    state.probes = ProbeDetector(LIMITS)
    answers = [
        decide_face(client, setup.device_key, image).json()
        for image in _probes(face_rgb, LIMITS.count + 2)
    ]
    reasons = [a["reason"] for a in answers]
    assert reasons == ["not_recognized"] * (LIMITS.count - 1) + ["probe_suspected"] * 3
    for answer in answers:
        assert set(answer) == DECISION_KEYS  # no score, no count: nothing more to learn
        assert answer["outcome"] == "deny"
    [incident] = store.incidents.list()
    assert incident.kind is IncidentKind.PROBING
    assert incident.site_code == SITE
    with store.reading() as session:
        recorded = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == AuditAction.INCIDENT_RECORDED)
        ).all()
    assert [json.loads(d)["incident_id"] for d in recorded] == [incident.id]
    decisions = recent_decisions(store, SITE, 10)[::-1]
    assert [e.detail.get("probe") for e in decisions] == [None] * (LIMITS.count - 1) + [
        "tripped",
        "held",
        "held",
    ]
    # the card is untouched by the face channel's hold.
    subject = consented_subject(store, SITE)
    store.credentials.issue_card(subject.id, "04A1B2C3", actor=OPERATOR)
    opened = decide(client, setup.device_key, "card", secret="04A1B2C3").json()
    assert (opened["outcome"], opened["reason"]) == ("open", "ok")


@pytest.mark.shared_data
def test_different_photos_from_one_device_do_not_trip(
    client: TestClient,
    store: Store,
    setup: Setup,
    pipeline: FacePipeline,
    shared_data_dir: Path,
) -> None:
    """Several photos of one person, then of another, all refused: no hold, no incident."""
    state = use_pipeline(client, pipeline)
    state.probes = ProbeDetector(LIMITS)
    images = shared_data_dir / "lfw_deepfunneled_subset" / "images"
    photos = [
        path
        for person in ("Al_Gore", "Ahmed_Chalabi")
        for path in sorted((images / person).glob("*.jpg"))[: LIMITS.count + 1]
    ]
    assert len(photos) == 2 * (LIMITS.count + 1)
    reasons = [
        decide_face(client, setup.device_key, encode_png(load_image(p))).json()["reason"]
        for p in photos
    ]
    assert "probe_suspected" not in reasons
    assert "not_recognized" in reasons
    assert store.incidents.list() == []


def test_probe_reasons_have_words() -> None:
    for reason in ("probe_suspected", "face_unavailable"):
        for prefix in ("reason_", "log_reason_"):
            zh, en = STRINGS[prefix + reason]
            assert CJK.search(zh)
            assert en.isascii()
