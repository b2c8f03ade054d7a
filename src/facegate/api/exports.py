"""A person's data export as the API answers it, to themselves (``/me/export``) or to the
front desk answering their access request: the store's export plus the visitor passes
they made (never the passes' codes)."""

from __future__ import annotations

from typing import Any

from facegate.api.schemas.passes import PassOut
from facegate.store import Store


def subject_export(store: Store, subject_id: str, actor: str) -> dict[str, Any]:
    """Everything stored about ``subject_id`` (no templates), audited as ``actor``'s export."""
    data = store.exports.subject_export(subject_id, actor)
    data["visitor_passes"] = [
        {**PassOut.of(p).model_dump(mode="json"), "credential_id": p.credential_id}
        for p in store.passes.list_for_subject(subject_id)
    ]
    return data
