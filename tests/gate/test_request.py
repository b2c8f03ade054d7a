"""What a face request may ask: each combination that does not fit is refused by name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facegate.gate import FaceRequest, LivenessDemand
from facegate.matching import OperatingPoint
from facegate.store.audit import AuditAction
from facegate.store.records import GateInfo, LivenessLevel


def _gate(site: str = "sunny", level: LivenessLevel = LivenessLevel.PASSIVE) -> GateInfo:
    return GateInfo(
        id="0" * 32, site_code=site, code="main", name="Main gate",
        accepts_face=True, accepts_card=True, accepts_pin=False, accepts_otp=False,
        liveness=level, created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip


def test_an_operator_request_reads_for_its_purpose_and_names_no_gate() -> None:
    request = FaceRequest("sunny", "cli", "1" * 32, "skipped", "fmr_1e-3")  # type: ignore[arg-type]
    assert request.liveness is LivenessDemand.SKIPPED
    assert request.operating_point is OperatingPoint.FMR_1E3
    assert (request.action, request.purpose, request.where()) == (
        AuditAction.DECISION_VERIFY, "verify", {}
    )  # fmt: skip
    gate = FaceRequest("sunny", "device:d", None, gate=_gate(), device_id="d")
    assert (gate.action, gate.purpose) == (AuditAction.DECISION_IDENTIFY, "gate")
    assert gate.where() == {"gate": "main", "device": "d"}
    assert LivenessDemand.of(_gate(level=LivenessLevel.PASSIVE_ACTIVE)) is (
        LivenessDemand.PASSIVE_ACTIVE
    )


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"liveness": "blink"}, "liveness"),
        ({"operating_point": "fmr_0.5"}, "operating_point"),
        ({"gate": _gate()}, "gate and device_id"),
        ({"device_id": "d"}, "gate and device_id"),
        ({"gate": _gate(site="other"), "device_id": "d"}, "gate: not a gate of site_code"),
        ({"liveness": LivenessDemand.PASSIVE_ACTIVE}, "challenge is bound to a gate"),
        (
            {"liveness": LivenessDemand.SKIPPED, "gate": _gate(), "device_id": "d"},
            "a gate never skips",
        ),
    ],
)
def test_requests_that_do_not_fit_are_refused(fields: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        FaceRequest("sunny", "cli", **fields)  # type: ignore[arg-type]
