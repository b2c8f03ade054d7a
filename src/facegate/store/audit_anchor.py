"""Anchoring the audit log's head (R-27): its seal, and a signed receipt outside the database.

``audit_head.head_mac`` (``audit.append_event`` renews it) keeps a head rewound by hand from
looking authentic; a database is sealed once, when created or upgraded from an unsealed
revision (``seal_after_upgrade``). But a head row copied from an older backup of the
database carries an authentic seal. The receipt closes that: a small JSON file, HMAC-signed
under a key derived from the site key, naming the newest event when it was written. A log
that no longer holds that event with that hash was cut, whatever the database says
(``verify_anchored``).

Receipts are written at every ``Store.close``, audit check, backup and retention run, after
a restore (which rewinds the log on purpose), and at most every ``RECEIPT_INTERVAL_S`` while
events are appended. Never over a receipt the log no longer matches: that receipt is the
evidence. File: ``{"version", "last_id", "last_hash", "written_at", "mac"}``, mode 0600,
replaced atomically; by default beside the key store (``Settings.resolved_audit_receipt_path``).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from facegate.errors import StoreError
from facegate.store.audit import AuditReport, check_key_matches, verify_audit_chain
from facegate.store.crypto import SiteKey
from facegate.store.engine import fsync_path
from facegate.store.migrate import AfterUpgrade
from facegate.store.schema import AuditEvent, AuditHead, utcnow

logger = logging.getLogger(__name__)

RECEIPT_VERSION = 1
#: While events are appended, a receipt is written at most this often (one small file write
#: a minute), so a running gate leaves at most its last minute of events unanchored.
RECEIPT_INTERVAL_S = 60.0
#: A receipt is about 250 bytes; anything much larger is not one.
_MAX_RECEIPT_BYTES = 4096
#: Revisions without a sealed ``audit_head`` (None: a new database). Only a database
#: upgraded from one of these, in the same transaction, is ever sealed.
UNSEALED_REVISIONS = frozenset({None, "0001", "0002", "0003", "0004"})


@dataclass(frozen=True, slots=True)
class HeadReceipt:
    """An authenticated receipt: the newest audit event when it was written."""

    last_id: int
    last_hash: str
    written_at: datetime


@dataclass(frozen=True, slots=True)
class ReceiptFile:
    """What the receipt file held: a receipt, nothing (no file), or a ``problem``."""

    path: Path
    receipt: HeadReceipt | None = None
    problem: str | None = None

    @property
    def found(self) -> bool:
        return self.receipt is not None or self.problem is not None


@dataclass(frozen=True, slots=True)
class ReceiptMismatch:
    first_bad_event_id: int
    reason: str


def load_receipt(path: Path, site_key: SiteKey) -> ReceiptFile:
    """Read and authenticate the receipt at ``path``; never raises."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_RECEIPT_BYTES + 1)
    except FileNotFoundError:
        return ReceiptFile(path)
    except OSError as exc:
        return ReceiptFile(path, problem=f"the audit head receipt {path} cannot be read: {exc}")
    try:
        return ReceiptFile(path, _parse(raw, site_key))
    except ValueError as exc:
        return ReceiptFile(path, problem=f"the audit head receipt {path} {exc}")


def write_receipt(path: Path, site_key: SiteKey, last_id: int, last_hash: str) -> None:
    """Replace the receipt at ``path`` atomically (temp file, fsync, rename), mode 0600."""
    fields: dict[str, Any] = {
        "version": RECEIPT_VERSION,
        "last_id": last_id,
        "last_hash": last_hash,
        "written_at": utcnow().isoformat(timespec="microseconds"),
    }
    body = {**fields, "mac": site_key.sign_audit_receipt(_payload(fields))}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, json.dumps(body, indent=1).encode("ascii") + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_path(path.parent)


def receipt_mismatch(session: Session, receipt: HeadReceipt) -> ReceiptMismatch | None:
    """Why the log in ``session`` is not a continuation of the one ``receipt`` anchored."""
    if receipt.last_id == 0:
        return None  # anchors the empty log: every log continues it
    when = f"{receipt.written_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    stored = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == receipt.last_id))
    if stored is None:
        end = session.scalar(select(func.max(AuditEvent.id))) or 0
        return ReceiptMismatch(
            end + 1,
            f"the audit head receipt written {when} names event {receipt.last_id}, but the "
            f"log ends at event {end}: events were removed from the end",
        )
    if not hmac.compare_digest(stored.encode(), receipt.last_hash.encode()):
        return ReceiptMismatch(
            receipt.last_id,
            f"event {receipt.last_id} is not the one the audit head receipt written {when} "
            "names: the log was cut back and written again",
        )
    return None


def seal_after_upgrade(site_key: SiteKey) -> AfterUpgrade:
    """``upgrade_to_head``'s ``after_upgrade``: seal the head of a database just created or
    upgraded from an unsealed revision, in the migration's transaction.

    Only then: a NULL seal on a database already at a sealed revision is tampering, which
    ``verify_audit_chain`` reports. (Rewriting the recorded revision to get a cut head sealed
    again is still caught by the receipt.) The key is checked first: a wrong one seals nothing.
    """

    def seal(connection: Connection, before: str | None) -> None:
        if before not in UNSEALED_REVISIONS:
            return
        with Session(bind=connection) as session:
            check_key_matches(session, site_key)
            head = session.execute(
                select(AuditHead.last_id, AuditHead.last_hash).where(
                    AuditHead.id == 1, AuditHead.head_mac.is_(None)
                )
            ).one_or_none()
            if head is None:
                return
            session.execute(
                update(AuditHead)
                .where(AuditHead.id == 1)
                .values(head_mac=site_key.seal_audit_head(head.last_id, head.last_hash))
            )
        if before is not None:
            logger.warning(
                "sealed the audit head at event %d (upgraded from revision %s)",
                head.last_id,
                before,
            )

    return seal


def verify_anchored(session: Session, site_key: SiteKey, receipt: ReceiptFile) -> AuditReport:
    """``verify_audit_chain``, then ``receipt``: authentic, and its event still in the log
    with the same hash. Never raises on bad rows.

    Load ``receipt`` before ``session`` first reads: a receipt newer than the log's snapshot
    would look like a cut.
    """
    report = verify_audit_chain(session, site_key)
    if not report.ok:
        return report
    checked = report.events_checked
    if receipt.problem is not None:
        return AuditReport(False, checked, None, receipt.problem, receipt_found=True)
    if receipt.receipt is None:
        return AuditReport(True, checked, receipt_found=False)
    mismatch = receipt_mismatch(session, receipt.receipt)
    if mismatch is not None:
        return AuditReport(
            False, checked, mismatch.first_bad_event_id, mismatch.reason, receipt_found=True
        )
    return AuditReport(True, checked, receipt_found=True)


class AuditReceipts:
    """The store's head receipts (``Store.audit_receipts``)."""

    def __init__(
        self,
        path: Path,
        site_key: SiteKey,
        reading: Callable[[], AbstractContextManager[Session]],
        *,
        interval_s: float = RECEIPT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._site_key = site_key
        self._reading = reading
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        # Counted from opening: a restore's own open, which appends replayed erasures, must
        # not try to anchor before the restore has recorded the rewind.
        self._last_write = clock()

    def load(self) -> ReceiptFile:
        return load_receipt(self.path, self._site_key)

    def after_append(self) -> None:
        """After a committed write that appended events: anchor them, at most every interval."""
        with self._lock:
            now = self._clock()
            if now - self._last_write < self._interval_s:
                return
            self._last_write = now
        self.write()

    def write(self, *, rewound: bool = False) -> bool:
        """Write a receipt for the current head; whether one was written. Never raises.

        Refused when the head's seal fails, and (unless ``rewound``: a restore put an older
        log back on purpose) when the log no longer holds the event the present receipt
        names, or that receipt fails authentication: overwriting it would erase the evidence.
        """
        try:
            problem = self._write(rewound=rewound)
        except (OSError, SQLAlchemyError, StoreError) as exc:
            problem = f"it could not be written: {exc}"
        if problem is None:
            return True
        logger.error("audit head receipt %s not written: %s", self.path, problem)
        return False

    def replaced_head(self) -> dict[str, int | str]:
        """What a restore records about the log it rewinds: the present receipt's head."""
        present = self.load()
        if present.receipt is None:
            return {"replaced_receipt": "invalid" if present.found else "none"}
        return {
            "replaced_last_id": present.receipt.last_id,
            "replaced_last_hash": present.receipt.last_hash,
        }

    def _write(self, *, rewound: bool) -> str | None:
        # The file first: the log read after it is at least as new as what it names.
        present = self.load()
        with self._reading() as session:
            head = session.execute(
                select(AuditHead.last_id, AuditHead.last_hash, AuditHead.head_mac).where(
                    AuditHead.id == 1
                )
            ).one_or_none()
            if head is None:
                return "the audit_head row is missing"
            if not self._site_key.audit_head_seal_valid(
                head.last_id, head.last_hash, head.head_mac
            ):
                return f"the seal of audit_head (event {head.last_id}) does not match it"
            if not rewound:
                if present.problem is not None:
                    return present.problem
                if present.receipt is not None:
                    mismatch = receipt_mismatch(session, present.receipt)
                    if mismatch is not None:
                        return mismatch.reason
        write_receipt(self.path, self._site_key, head.last_id, head.last_hash)
        with self._lock:
            self._last_write = self._clock()
        return None


def _parse(raw: bytes, site_key: SiteKey) -> HeadReceipt:
    if len(raw) > _MAX_RECEIPT_BYTES:
        raise ValueError("is too large to be a receipt")
    body = json.loads(raw)  # JSONDecodeError and UnicodeDecodeError are ValueErrors
    if not isinstance(body, dict):
        raise ValueError("is not a receipt")
    mac = body.pop("mac", None)
    expected = site_key.sign_audit_receipt(_payload(body)).encode()
    if not isinstance(mac, str) or not hmac.compare_digest(expected, mac.encode()):
        raise ValueError("fails authentication: it was edited, or written with another site key")
    last_id, last_hash = body.get("last_id"), body.get("last_hash")
    written_at = body.get("written_at")
    if (
        body.get("version") != RECEIPT_VERSION
        or type(last_id) is not int
        or last_id < 0
        or not isinstance(last_hash, str)
        or not isinstance(written_at, str)
    ):
        raise ValueError(f"is not a version {RECEIPT_VERSION} receipt")
    return HeadReceipt(last_id, last_hash, datetime.fromisoformat(written_at))


def _payload(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")
