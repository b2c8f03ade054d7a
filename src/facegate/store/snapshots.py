"""Kept frames of disputed entries, redacted and encrypted (R-21, R-24, R-25).

Nothing is kept unless the site turned ``keep_disputed_frames`` on (off by default) and its
current notice says so. Every face but the subject's is blurred beyond recognition before
any byte is written (``privacy.redaction``); the subject's face stays legible only if they
hold a usable consent. The redacted frame is encoded as PNG in memory, encrypted with its
own data key from the key store (AES-256-GCM, bound to site and frame id) and written
atomically; then its row commits. Order on disk: key, file, row; all three under the
database's write lock, so ``store.reconcile`` never mistakes a frame being kept for an
orphan, and after a crash removes a key or file whose row never committed.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import logging
from collections.abc import Collection
from datetime import datetime, timedelta

import numpy as np
from PIL import Image
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from facegate.errors import (
    ConsentRequiredError,
    ImageTooLargeError,
    IntegrityViolationError,
    InvalidRecordError,
    NotFoundError,
    PolicyError,
    UnsupportedImageError,
)
from facegate.store.audit import AuditAction
from facegate.store.checks import check_id, check_text
from facegate.store.crypto import decrypt_snapshot, encrypt_snapshot
from facegate.store.erasure import destroy_dead_keys, receipt_info
from facegate.store.keystore_schema import KeyOwnerKind
from facegate.store.module import StoreModule
from facegate.store.queries import active_subject, require_usable_consent, site_by_code
from facegate.store.records import DeletionReason, DeletionReceipt, SnapshotInfo
from facegate.store.retention import declares_kept_frames
from facegate.store.schema import (
    ACTOR_LENGTH,
    DeletionReceiptRow,
    Gate,
    Site,
    Snapshot,
    new_id,
    utcnow,
)
from facegate.store.snapshot_files import (
    read_snapshot_file,
    snapshot_file,
    write_snapshot_file,
)
from facegate.vision.image import RGBImage, load_image
from facegate.vision.record import Box
from facegate.vision.stages import Detector

logger = logging.getLogger(__name__)

#: Why a frame is kept, when the caller does not say.
DISPUTED_ENTRY = "disputed_entry"
REASON_LENGTH = 64
PURPOSE_LENGTH = 64


class Snapshots(StoreModule):
    """Kept frames of disputed entries, redacted and encrypted (R-21, R-25)."""

    def keep(
        self,
        site_code: str,
        frame: RGBImage,
        *,
        subject_id: str | None = None,
        subject_box: Box | None = None,
        gate_code: str | None = None,
        detector: Detector,
        reason: str = DISPUTED_ENTRY,
        actor: str,
    ) -> SnapshotInfo:
        """Keep ``frame`` (``(H, W, 3)`` uint8 RGB) with every face but the subject's blurred.

        ``subject_box`` (``[x1, y1, x2, y2]`` pixels) is the subject's face, left legible;
        None blurs every face. ``detector`` finds the faces to blur (use
        ``privacy.redaction.bystander_detector()``). The frame expires after the site's
        ``snapshot_retention_days``.

        Raises ``PolicyError`` unless the site keeps disputed frames (R-21: off by default),
        ``InvalidRecordError`` for a subject box without a subject, and
        ``ConsentRequiredError`` when the subject's face would stay legible without their
        usable consent (pass ``subject_box=None`` to blur it too).
        """
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        reason = check_text(reason, "reason", REASON_LENGTH)
        if subject_id is not None:
            check_id(subject_id, "subject id")
        if subject_box is not None and subject_id is None:
            raise InvalidRecordError(
                "a subject box needs the subject id: whose face is it?",
                reason="box_without_subject",
            )
        self._check_frame(frame)
        # Refuse before running the detector: a frame the site may not keep is not processed.
        with self._store.reading() as session:
            self._check_allowed(session, site_code, subject_id, subject_box, gate_code)
        # Imported here: redaction pulls in dlib, which the rest of the store never needs.
        from facegate.privacy.redaction import redact_bystanders

        redaction = redact_bystanders(frame, subject_box, detector)
        png = _encode_png(redaction.image)
        snapshot_id = new_id()
        try:
            with self._store.transaction() as session:
                site, gate = self._check_allowed(
                    session, site_code, subject_id, subject_box, gate_code
                )
                key = self._store.keystore.get_or_create(
                    snapshot_id, site.id, KeyOwnerKind.SNAPSHOT
                )
                blob = encrypt_snapshot(key, png, site_id=site.id, snapshot_id=snapshot_id)
                write_snapshot_file(self._store.settings, snapshot_id, blob)
                now = utcnow()
                row = Snapshot(
                    id=snapshot_id,
                    site_id=site.id,
                    subject_id=subject_id,
                    gate_id=gate.id if gate is not None else None,
                    taken_at=now,
                    expires_at=now + timedelta(days=site.snapshot_retention_days),
                    reason=reason,
                    ciphertext_sha256=hashlib.sha256(blob).hexdigest(),
                    bystanders_redacted=len(redaction.bystanders),
                )
                session.add(row)
                self._store.audit(
                    session,
                    actor,
                    AuditAction.SNAPSHOT_KEPT,
                    site_id=site.id,
                    subject_id=subject_id,
                    detail={
                        "snapshot_id": snapshot_id,
                        "reason": reason,
                        "bystanders_redacted": len(redaction.bystanders),
                        "subject_legible": redaction.subject is not None,
                    },
                )
                info = _info(row, site.code, gate.code if gate is not None else None)
        except BaseException:
            self._discard(snapshot_id)
            raise
        return info

    def read(self, snapshot_id: str, *, actor: str, purpose: str = DISPUTED_ENTRY) -> RGBImage:
        """The kept (redacted) frame, ``(H, W, 3)`` uint8 RGB; audited as ``snapshot.read``.

        ``NotFoundError`` for an unknown or expired frame; ``IntegrityViolationError`` if
        the file was altered.
        """
        check_id(snapshot_id, "snapshot id")
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        purpose = check_text(purpose, "purpose", PURPOSE_LENGTH)
        with self._store.transaction() as session:
            row = _snapshot(session, snapshot_id)
            if row.expires_at <= utcnow():
                raise NotFoundError(f"kept frame {snapshot_id} has expired")
            key = self._store.keystore.get(row.id, row.site_id)
            if key is None:
                raise NotFoundError(f"the key of kept frame {snapshot_id} was destroyed")
            blob = read_snapshot_file(self._store.settings, row.id)
            if hashlib.sha256(blob).hexdigest() != row.ciphertext_sha256:
                raise IntegrityViolationError(f"the file of kept frame {snapshot_id} was altered")
            png = decrypt_snapshot(key, blob, site_id=row.site_id, snapshot_id=row.id)
            self._store.audit(
                session,
                actor,
                AuditAction.SNAPSHOT_READ,
                site_id=row.site_id,
                subject_id=row.subject_id,
                detail={"snapshot_id": row.id, "purpose": purpose},
            )
        return load_image(png, max_pixels=self._store.settings.max_image_pixels)

    def get(self, snapshot_id: str) -> SnapshotInfo:
        check_id(snapshot_id, "snapshot id")
        with self._store.reading() as session:
            row = _snapshot(session, snapshot_id)
            return _infos(session, Snapshot.id == row.id)[0]

    def list(self, site_code: str) -> builtins.list[SnapshotInfo]:
        """The site's kept frames (metadata only), oldest first."""
        with self._store.reading() as session:
            site = site_by_code(session, site_code)
            return _infos(session, Snapshot.site_id == site.id)

    def delete(
        self,
        snapshot_id: str,
        *,
        actor: str,
        reason: DeletionReason | str = DeletionReason.REQUEST,
    ) -> DeletionReceipt | None:
        """Erase a kept frame now: row, file and key. Returns the receipt when the frame
        names a subject (receipts are per subject), else None. ``NotFoundError`` for an
        unknown or already erased frame."""
        check_id(snapshot_id, "snapshot id")
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        why = _reason(reason)
        with self._store.transaction() as session:
            receipt = self.erase(session, _snapshot(session, snapshot_id), why, actor)
        self.finish((snapshot_id,))
        return receipt

    def expire(
        self, snapshot_id: str, now: datetime, *, actor: str
    ) -> tuple[bool, DeletionReceipt | None]:
        """Erase the frame if it has expired at ``now`` (retention); (erased, receipt)."""
        with self._store.transaction() as session:
            row = session.get(Snapshot, snapshot_id)
            if row is None or row.expires_at > now:
                return False, None
            receipt = self.erase(session, row, DeletionReason.EXPIRY, actor)
        self.finish((snapshot_id,), checkpoint=False)
        return True, receipt

    def erase(
        self, session: Session, row: Snapshot, reason: DeletionReason, actor: str
    ) -> DeletionReceipt | None:
        """Delete the row with its audit event (and receipt, if it names a subject) in the
        caller's transaction; the caller commits, then calls ``finish``."""
        detail = {"snapshot_id": row.id, "reason": reason.value}
        event_id = self._store.audit(
            session,
            actor,
            AuditAction.SNAPSHOT_DELETED,
            site_id=row.site_id,
            subject_id=row.subject_id,
            detail=detail,
        )
        session.delete(row)
        if row.subject_id is None:
            return None
        receipt = DeletionReceiptRow(
            id=new_id(),
            subject_id=row.subject_id,
            site_id=row.site_id,
            deleted_at=utcnow(),
            reason=reason,
            requested_by=actor,
            templates_deleted=0,
            credentials_deleted=0,
            snapshots_deleted=1,
            keys_destroyed=len(self._store.keystore.existing((row.id,))),
            audit_event_id=event_id,
            subject_erased=False,
        )
        session.add(receipt)
        return receipt_info(receipt, session.get_one(Site, row.site_id).code)

    def finish(self, snapshot_ids: Collection[str], *, checkpoint: bool = True) -> None:
        """After the commit: destroy the frames' keys and remove their files."""
        with self._store.transaction() as session:
            destroy_dead_keys(session, self._store, snapshot_ids)
        for snapshot_id in snapshot_ids:
            snapshot_file(self._store.settings, snapshot_id).unlink(missing_ok=True)
        if checkpoint:
            self._store.checkpoint()

    def _check_allowed(
        self,
        session: Session,
        site_code: str,
        subject_id: str | None,
        subject_box: Box | None,
        gate_code: str | None,
    ) -> tuple[Site, Gate | None]:
        site = site_by_code(session, site_code)
        if not site.keep_disputed_frames:
            raise PolicyError(
                f"site {site.code!r} does not keep frames of disputed entries (R-21: off "
                "unless the site enables it and its notice says so)",
                reason="frames_not_kept",
            )
        if not declares_kept_frames(session, site.id):
            raise PolicyError(
                f"the current notice of site {site.code!r} does not declare kept frames",
                reason="frames_not_declared",
            )
        if subject_id is not None:
            subject = active_subject(session, subject_id)
            if subject.site_id != site.id:
                raise NotFoundError(f"no subject {subject_id} at site {site.code!r}")
            if subject_box is not None:
                try:
                    require_usable_consent(session, subject)
                except ConsentRequiredError as exc:
                    raise ConsentRequiredError(
                        f"{exc}; without it the subject's face is blurred too: pass "
                        "subject_box=None",
                        reason="snapshot_without_consent",
                    ) from None
        gate = None
        if gate_code is not None:
            gate = session.scalar(
                select(Gate).where(Gate.site_id == site.id, Gate.code == gate_code)
            )
            if gate is None:
                raise NotFoundError(f"no gate {gate_code!r} at site {site.code!r}")
        return site, gate

    def _check_frame(self, frame: object) -> None:
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3:
            raise UnsupportedImageError("a kept frame must be a (H, W, 3) uint8 RGB array")
        height, width = frame.shape[:2]
        if height * width > self._store.settings.max_image_pixels:
            raise ImageTooLargeError(
                f"the frame has {height * width} pixels, over the limit of "
                f"{self._store.settings.max_image_pixels}"
            )

    def _discard(self, snapshot_id: str) -> None:
        # The row did not commit: nothing may remain of the frame.
        try:
            snapshot_file(self._store.settings, snapshot_id).unlink(missing_ok=True)
            self._store.keystore.destroy((snapshot_id,))
        except Exception:
            logger.warning("could not discard a frame that was not kept; reconcile will")


def _encode_png(image: RGBImage) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _reason(value: DeletionReason | str) -> DeletionReason:
    try:
        return DeletionReason(value)
    except ValueError:
        allowed = ", ".join(member.value for member in DeletionReason)
        raise InvalidRecordError(
            f"reason {value!r} is not one of: {allowed}", reason="unknown_snapshot_reason"
        ) from None


def _snapshot(session: Session, snapshot_id: str) -> Snapshot:
    row = session.get(Snapshot, snapshot_id)
    if row is None:
        raise NotFoundError(f"no kept frame with id {snapshot_id} (never kept, or erased)")
    return row


def _infos(session: Session, *conditions: ColumnElement[bool]) -> builtins.list[SnapshotInfo]:
    rows = session.execute(
        select(Snapshot, Site.code, Gate.code)
        .join(Site, Site.id == Snapshot.site_id)
        .outerjoin(Gate, Gate.id == Snapshot.gate_id)
        .where(*conditions)
        .order_by(Snapshot.taken_at, Snapshot.id)
    )
    return [_info(row, site_code, gate_code) for row, site_code, gate_code in rows]


def _info(row: Snapshot, site_code: str, gate_code: str | None) -> SnapshotInfo:
    return SnapshotInfo(
        id=row.id,
        site_code=site_code,
        subject_id=row.subject_id,
        gate_code=gate_code,
        taken_at=row.taken_at,
        expires_at=row.expires_at,
        reason=row.reason,
        bystanders_redacted=row.bystanders_redacted,
    )
