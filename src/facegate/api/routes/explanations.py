"""Auditor: why one decision went the way it did (issue 15, item 7).

``SiteReader`` (auditor or administrator), as the access log it explains: the explanation
is read-only and says no more than the log's own row except codes an auditor needs (quality
and liveness reasons, the matched template's id suffix and enrollment time, the margin band).
The front desk has no use for it; devices and residents never get it, and no answer carries
a score or a template.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from facegate.api.deps import StoreDep
from facegate.api.routes.admin_scope import SiteReader
from facegate.api.schemas.explanations import DecisionExplanationOut
from facegate.errors import NotFoundError
from facegate.store.decision_log import decision_explanation

MAX_EVENT_ID = 2**63 - 1

router = APIRouter(prefix="/api/v1/sites/{site}", tags=["admin: access log"])


@router.get("/decisions/{decision_id}/explanation", response_model=DecisionExplanationOut)
def explain_decision(
    site: str,
    # An audit event's id is a 64-bit integer; a larger one cannot exist (and would overflow).
    decision_id: Annotated[int, Path(ge=1, le=MAX_EVENT_ID)],
    store: StoreDep,
    _: SiteReader,
) -> DecisionExplanationOut:
    """Role: the site's auditor or administrator. Why decision ``decision_id`` went the way
    it did, in codes the console words: outcome, kind, reason, quality and liveness
    reasons, the matched template (id suffix, enrolled at), the margin to the threshold as
    a band, the operating point and model. Never a score. 404 for another site's decision
    or one that does not exist."""
    found = decision_explanation(store, site, decision_id)
    if found is None:
        raise NotFoundError(f"no decision {decision_id} at this site")
    return DecisionExplanationOut.of(found)
