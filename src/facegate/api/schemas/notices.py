"""Processing notices (R-01, R-06)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from facegate.store.notices import NoticeInfo


class NoticeIn(BaseModel):
    version: str = Field(min_length=1, max_length=64)
    #: purposes, methods, scope, retention_days, texts {zh: {...}, en: {...}}.
    content: dict[str, Any]


class NoticeOut(BaseModel):
    version: str
    seq: int
    published_at: datetime
    published_by: str
    content: dict[str, Any]
    content_sha256: str
    widens: bool

    @classmethod
    def of(cls, notice: NoticeInfo) -> NoticeOut:
        return cls(
            version=notice.version,
            seq=notice.seq,
            published_at=notice.published_at,
            published_by=notice.published_by,
            content=json.loads(notice.content.to_json()),
            content_sha256=notice.content_sha256,
            widens=notice.widens,
        )


class PublicationOut(BaseModel):
    notice: NoticeOut
    consents_needing_renewal: int
