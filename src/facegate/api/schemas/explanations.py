"""Outbound: an auditor's explanation of one decision. Codes, not prose (the console has
words for each, in ``api/words/explanations.py``); never a score, a threshold or a
template."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facegate.gate.explanation import MarginBand
from facegate.store.decision_log import DecisionExplanation, TemplateState

#: Characters of a template's id the explanation shows: enough to tell one person's few
#: templates apart in an audit, not a handle that finds the row.
TEMPLATE_SUFFIX = 6


class MatchedTemplateOut(BaseModel):
    """The template that matched: which one, and when it was enrolled."""

    id_suffix: str = Field(description=f"the last {TEMPLATE_SUFFIX} characters of its id")
    state: TemplateState = Field(description="enrolled, or erased since the decision")
    enrolled_at: datetime | None = Field(description="null once the template is erased")


class DecisionExplanationOut(BaseModel):
    """Why a decision went the way it did, for the site's auditor or administrator."""

    id: int = Field(description="the audit event that records the decision")
    at: datetime
    kind: str | None = Field(description="face, card, pin, otp or remote")
    outcome: str | None = Field(description="open, deny or try_another")
    reason: str | None = Field(description="the decision's reason code")
    check: str | None = Field(description="which liveness check refused a face, if one did")
    quality_reasons: list[str] = Field(description="why the face failed the quality gate")
    liveness: str | None = Field(description="the liveness check's outcome code")
    template: MatchedTemplateOut | None = Field(description="null when no template matched")
    margin_band: MarginBand | None = Field(
        description="how far the best comparison was from the threshold, as a coarse band; "
        "null where no face was compared"
    )
    operating_point: str | None = Field(description="the calibrated point decided at")
    model: str | None = Field(description="the embedding model that compared the face")
    engine: str | None = Field(description="an older engine that opened (enroll again)")

    @classmethod
    def of(cls, found: DecisionExplanation) -> DecisionExplanationOut:
        template = None
        if found.template_id is not None and found.template_state is not None:
            template = MatchedTemplateOut(
                id_suffix=found.template_id[-TEMPLATE_SUFFIX:],
                state=found.template_state,
                enrolled_at=found.enrolled_at,
            )
        band = found.margin_band
        return cls(
            id=found.id,
            at=found.at,
            kind=found.kind,
            outcome=found.outcome,
            reason=found.reason,
            check=found.check,
            quality_reasons=list(found.quality_reasons),
            liveness=found.liveness,
            template=template,
            margin_band=MarginBand(band) if band in tuple(MarginBand) else None,
            operating_point=found.operating_point,
            model=found.model,
            engine=found.engine,
        )
