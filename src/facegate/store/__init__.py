"""Storage that is private by construction: encrypted templates, consent enforced by the
schema, crypto-shredding deletion and a tamper-evident audit log. See ``Store``.
"""

from facegate.store.audit import AuditAction, AuditRecord, AuditReport
from facegate.store.records import (
    EMBEDDING_DIM,
    ConsentMethod,
    DeletionReason,
    DeletionReceipt,
    Gallery,
    SiteInfo,
    SubjectInfo,
    SubjectKind,
    SubjectStatus,
)
from facegate.store.service import SYSTEM_ACTOR, Store

__all__ = [
    "EMBEDDING_DIM",
    "SYSTEM_ACTOR",
    "AuditAction",
    "AuditRecord",
    "AuditReport",
    "ConsentMethod",
    "DeletionReason",
    "DeletionReceipt",
    "Gallery",
    "SiteInfo",
    "Store",
    "SubjectInfo",
    "SubjectKind",
    "SubjectStatus",
]
