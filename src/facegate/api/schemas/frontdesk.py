"""The front desk's test of recognition: what staff are answered (never a score, a
distance or a template)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from facegate.store.records import GateOutcome


class TrialLiveness(StrEnum):
    """Liveness on a test: an uploaded still is not a live presentation, so not checked."""

    NOT_CHECKED = "not_checked"


class RecognitionTestOut(BaseModel):
    """The decision the gate would make for the photo, and nothing to tune a probe with.

    ``reason`` is a face decision's reason code (``ok``, ``not_recognized``, ``no_face``,
    ``poor_quality``, ``gate_does_not_accept``); ``quality_reasons`` the quality gate's
    codes with ``poor_quality``; ``name`` and ``subject_id`` only with ``open``.
    """

    gate: str
    outcome: GateOutcome
    reason: str
    name: str | None = None
    subject_id: str | None = None
    quality_reasons: list[str] = Field(default_factory=list)
    liveness: TrialLiveness = TrialLiveness.NOT_CHECKED
