"""The records the store hands out: frozen values, never ORM objects, never key material.

None of them carries a template except ``Gallery``, which exists to feed the matcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from facegate.vision.record import EMBEDDING_DIM as EMBEDDING_DIM


class SubjectKind(StrEnum):
    RESIDENT = "resident"
    VISITOR = "visitor"


class SubjectStatus(StrEnum):
    ACTIVE = "active"
    #: A tombstone: personal fields cleared, templates and key destroyed.
    DELETED = "deleted"


class ConsentMethod(StrEnum):
    """How a written consent was given (R-03)."""

    SIGNATURE = "signature"
    E_SIGNATURE = "e_signature"


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: str
    code: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SubjectInfo:
    """A subject's metadata. ``display_name`` is None once the subject is deleted."""

    id: str
    site_code: str
    display_name: str | None
    kind: SubjectKind
    status: SubjectStatus
    created_at: datetime
    deleted_at: datetime | None
    has_active_consent: bool
    template_count: int


@dataclass(frozen=True, slots=True)
class ConsentInfo:
    id: str
    subject_id: str
    notice_version: str
    given_at: datetime
    method: ConsentMethod
    #: Who gave the consent (the subject, or a guardian).
    given_by: str
    #: The operator who collected it.
    collected_by: str
    withdrawn_at: datetime | None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


@dataclass(frozen=True, slots=True)
class DeletionReceipt:
    """What a deletion destroyed, when and why (R-23). Holds no face data."""

    subject_id: str
    site_code: str
    deleted_at: datetime
    reason: str
    templates_deleted: int
    #: True when the subject's data key existed and was destroyed (crypto-shredding).
    key_destroyed: bool
    #: The ``subject.deleted`` audit event that records this deletion.
    audit_event_id: int


@dataclass(frozen=True)
class Gallery:
    """Decrypted templates of one site for one model, ready for 1:N matching.

    ``embeddings`` is float32 of shape (N, 128); ``owners`` is int64 of shape (N,), where
    ``owners[i]`` indexes ``subject_ids`` for row ``i``. Both arrays are read-only.
    An empty gallery has N = 0 and ``subject_ids == ()``.
    """

    subject_ids: tuple[str, ...]
    embeddings: npt.NDArray[np.float32]
    owners: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        embeddings = np.array(self.embeddings, dtype=np.float32, copy=True)
        owners = np.array(self.owners, dtype=np.int64, copy=True)
        if embeddings.ndim != 2 or embeddings.shape[1] != EMBEDDING_DIM:
            raise ValueError(
                f"embeddings must have shape (N, {EMBEDDING_DIM}), got {embeddings.shape}"
            )
        if owners.shape != (embeddings.shape[0],):
            raise ValueError(f"owners must have shape ({embeddings.shape[0]},), got {owners.shape}")
        if owners.size and (owners.min() < 0 or owners.max() >= len(self.subject_ids)):
            raise ValueError("owners must index subject_ids")
        embeddings.setflags(write=False)
        owners.setflags(write=False)
        object.__setattr__(self, "embeddings", embeddings)
        object.__setattr__(self, "owners", owners)

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])
