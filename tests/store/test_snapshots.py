"""Kept frames: off by default, bystanders blurred before writing, encrypted, expiring
(R-21, R-25, R-24, R-23)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from facegate.errors import (
    ConsentRequiredError,
    ImageError,
    IntegrityViolationError,
    InvalidRecordError,
    NotFoundError,
    PolicyError,
)
from facegate.fixtures import astronaut
from facegate.privacy.redaction import bystander_detector
from facegate.store import SiteInfo, Store, SubjectKind
from facegate.store.keystore_schema import KeyOwnerKind
from facegate.store.records import DeletionReason, ProcessingMethod
from facegate.store.snapshot_files import (
    FILE_MAGIC,
    snapshot_dir,
    snapshot_file,
    write_snapshot_file,
)
from facegate.vision.image import RGBImage
from facegate.vision.record import Box, Face

from .helpers import OPERATOR, consented_subject

SUBJECT_BOX = Box(10, 10, 60, 60)
BYSTANDER_BOX = Box(150, 20, 200, 70)
PNG_MAGIC = b"\x89PNG"
#: The subject's and a bystander's face in the astronaut crop below (found by dlib's HOG).
REAL_SUBJECT = Box(56, 52, 146, 147)
REAL_BYSTANDER = Box(245, 50, 340, 147)


@dataclass
class FixedDetector:
    """Finds faces exactly where it is told: redaction without detector noise."""

    boxes: list[Box] = field(default_factory=lambda: [SUBJECT_BOX, BYSTANDER_BOX])
    name: str = "fixed"

    def detect(self, image: RGBImage) -> list[Face]:
        return [Face(box, 1.0) for box in self.boxes]


def _frame(seed: int = 0) -> RGBImage:
    return np.random.default_rng(seed).integers(0, 256, (120, 240, 3), dtype=np.uint8)


def _region(image: RGBImage, box: Box) -> RGBImage:
    return image[int(box.y1) : int(box.y2), int(box.x1) : int(box.x2)]


def _declare_kept_frames(store: Store, site: SiteInfo) -> None:
    current = store.notices.current(site.code).content
    wider = dataclasses.replace(
        current, methods=current.methods | {ProcessingMethod.KEEP_DISPUTED_FRAMES}
    )
    store.notices.publish(site.code, "2026-2", wider, actor=OPERATOR)


@pytest.fixture
def frames_site(store: Store, site: SiteInfo) -> SiteInfo:
    """A site whose notice declares kept frames and which has turned them on."""
    _declare_kept_frames(store, site)
    store.retention.set_policy(
        site.code, keep_disputed_frames=True, snapshot_retention_days=7, actor=OPERATOR
    )
    return site


@pytest.mark.rule("R-21")
def test_r21_frames_are_refused_unless_the_site_keeps_them(store: Store, site: SiteInfo) -> None:
    subject = consented_subject(store)
    with pytest.raises(PolicyError, match="R-21"):
        store.snapshots.keep(
            site.code,
            _frame(),
            subject_id=subject.id,
            subject_box=SUBJECT_BOX,
            detector=FixedDetector(),
            actor=OPERATOR,
        )
    # Nothing was written anywhere.
    assert not snapshot_dir(store.settings).exists()
    assert store.keystore.owners(KeyOwnerKind.SNAPSHOT) == set()
    assert store.snapshots.list(site.code) == []


@pytest.mark.rule("R-25", "R-21")
def test_r25_bystanders_are_blurred_before_the_frame_is_written(
    store: Store, frames_site: SiteInfo
) -> None:
    subject = consented_subject(store)
    frame = _frame()
    info = store.snapshots.keep(
        frames_site.code,
        frame,
        subject_id=subject.id,
        subject_box=SUBJECT_BOX,
        detector=FixedDetector(),
        actor=OPERATOR,
    )
    assert (info.subject_id, info.bystanders_redacted) == (subject.id, 1)
    assert info.expires_at == info.taken_at + timedelta(days=7)

    # The file on disk: encrypted, neither a PNG nor the pixels.
    stored = snapshot_file(store.settings, info.id).read_bytes()
    assert stored.startswith(FILE_MAGIC)
    assert PNG_MAGIC not in stored
    assert _region(frame, SUBJECT_BOX)[0].tobytes() not in stored
    mode = snapshot_file(store.settings, info.id).stat().st_mode & 0o777
    assert (mode, snapshot_dir(store.settings).stat().st_mode & 0o777) == (0o600, 0o700)

    kept = store.snapshots.read(info.id, actor=OPERATOR)
    assert kept.shape == frame.shape
    np.testing.assert_array_equal(_region(kept, SUBJECT_BOX), _region(frame, SUBJECT_BOX))
    bystander = _region(kept, BYSTANDER_BOX).astype(int) - _region(frame, BYSTANDER_BOX)
    assert np.abs(bystander).mean() > 40  # noise averaged into a few flat cells
    assert len(np.unique(_region(kept, BYSTANDER_BOX).reshape(-1, 3), axis=0)) <= 36
    assert store.audit_events(subject.id)[-1].action == "snapshot.read"


@pytest.mark.rule("R-25")
def test_r25_a_real_bystander_face_is_no_longer_found_in_the_kept_frame(
    store: Store, frames_site: SiteInfo
) -> None:
    subject = consented_subject(store)
    crop = astronaut()[20:220, 120:320]
    frame = np.ascontiguousarray(np.concatenate([crop, crop[:, ::-1]], axis=1))
    detector = bystander_detector()
    info = store.snapshots.keep(
        frames_site.code,
        frame,
        subject_id=subject.id,
        subject_box=REAL_SUBJECT,
        detector=detector,
        actor=OPERATOR,
    )
    assert info.bystanders_redacted == 1
    kept = store.snapshots.read(info.id, actor=OPERATOR)
    np.testing.assert_array_equal(_region(kept, REAL_SUBJECT), _region(frame, REAL_SUBJECT))
    assert not np.array_equal(_region(kept, REAL_BYSTANDER), _region(frame, REAL_BYSTANDER))
    found = [face.box for face in detector.detect(kept)]
    assert len(found) == 1
    assert abs(found[0].x1 - REAL_SUBJECT.x1) < 10  # only the subject's face is left


@pytest.mark.rule("R-25")
def test_r25_without_a_subject_box_every_face_is_blurred(
    store: Store, frames_site: SiteInfo
) -> None:
    frame = _frame(1)
    info = store.snapshots.keep(frames_site.code, frame, detector=FixedDetector(), actor=OPERATOR)
    assert info.bystanders_redacted == 2
    kept = store.snapshots.read(info.id, actor=OPERATOR)
    for box in (SUBJECT_BOX, BYSTANDER_BOX):
        assert not np.array_equal(_region(kept, box), _region(frame, box))


@pytest.mark.rule("R-21")
def test_r21_the_subject_stays_legible_only_with_their_consent(
    store: Store, frames_site: SiteInfo
) -> None:
    stranger = store.add_subject(frames_site.code, "Li Si", SubjectKind.RESIDENT, actor=OPERATOR)
    with pytest.raises(ConsentRequiredError, match="subject_box=None"):
        store.snapshots.keep(
            frames_site.code,
            _frame(),
            subject_id=stranger.id,
            subject_box=SUBJECT_BOX,
            detector=FixedDetector(),
            actor=OPERATOR,
        )
    with pytest.raises(InvalidRecordError, match="subject id"):
        store.snapshots.keep(
            frames_site.code,
            _frame(),
            subject_box=SUBJECT_BOX,
            detector=FixedDetector(),
            actor=OPERATOR,
        )
    assert store.snapshots.list(frames_site.code) == []
    assert store.keystore.owners(KeyOwnerKind.SNAPSHOT) == set()


@pytest.mark.rule("R-24", "R-23")
def test_r24_an_expired_frame_loses_row_file_and_key(store: Store, frames_site: SiteInfo) -> None:
    subject = consented_subject(store)
    info = store.snapshots.keep(
        frames_site.code,
        _frame(),
        subject_id=subject.id,
        subject_box=SUBJECT_BOX,
        detector=FixedDetector(),
        actor=OPERATOR,
    )
    path = snapshot_file(store.settings, info.id)
    assert store.retention.run(info.expires_at - timedelta(seconds=1)).snapshots_expired == 0
    report = store.retention.run(info.expires_at)
    assert report.snapshots_expired == 1
    (receipt,) = report.receipts
    assert (receipt.subject_id, receipt.reason, receipt.snapshots_deleted) == (
        subject.id,
        DeletionReason.EXPIRY,
        1,
    )
    assert receipt.keys_destroyed == 1
    assert store.snapshots.list(frames_site.code) == []
    assert not path.exists()
    assert store.keystore.get(info.id, frames_site.id) is None
    with pytest.raises(NotFoundError):
        store.snapshots.read(info.id, actor=OPERATOR)


@pytest.mark.rule("R-23")
def test_r23_deleting_the_subject_takes_their_frames(store: Store, frames_site: SiteInfo) -> None:
    subject = consented_subject(store)
    info = store.snapshots.keep(
        frames_site.code,
        _frame(),
        subject_id=subject.id,
        subject_box=SUBJECT_BOX,
        detector=FixedDetector(),
        actor=OPERATOR,
    )
    receipt = store.delete_subject(subject.id, DeletionReason.REQUEST, OPERATOR)
    assert receipt.snapshots_deleted == 1
    assert not snapshot_file(store.settings, info.id).exists()
    assert store.keystore.get(info.id, frames_site.id) is None


def test_deleting_a_frame_twice_is_a_clear_error(store: Store, frames_site: SiteInfo) -> None:
    info = store.snapshots.keep(
        frames_site.code, _frame(), detector=FixedDetector(), actor=OPERATOR
    )
    assert store.snapshots.delete(info.id, actor=OPERATOR) is None  # no subject, no receipt
    with pytest.raises(NotFoundError, match="erased"):
        store.snapshots.delete(info.id, actor=OPERATOR)
    assert not snapshot_file(store.settings, info.id).exists()


@pytest.mark.rule("R-28")
def test_r28_an_altered_frame_file_is_refused(store: Store, frames_site: SiteInfo) -> None:
    info = store.snapshots.keep(
        frames_site.code, _frame(), detector=FixedDetector(), actor=OPERATOR
    )
    path = snapshot_file(store.settings, info.id)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityViolationError):
        store.snapshots.read(info.id, actor=OPERATOR)


def test_reconcile_removes_what_a_crash_inside_keep_left(
    store: Store, frames_site: SiteInfo
) -> None:
    kept = store.snapshots.keep(
        frames_site.code, _frame(), detector=FixedDetector(), actor=OPERATOR
    )
    # A crash after key and file, before the row: both are orphans.
    orphan = "f" * 32
    store.keystore.get_or_create(orphan, frames_site.id, KeyOwnerKind.SNAPSHOT)
    write_snapshot_file(store.settings, orphan, b"ciphertext")
    stray = snapshot_dir(store.settings) / f".{orphan}.0123.tmp"
    stray.write_bytes(b"half a file")

    report = store.reconcile()
    assert (report.keys_destroyed, report.files_removed) == (1, 2)
    assert not snapshot_file(store.settings, orphan).exists()
    assert not stray.exists()
    assert store.keystore.owners(KeyOwnerKind.SNAPSHOT) == {kept.id}
    # The frame that did commit is untouched.
    assert store.snapshots.read(kept.id, actor=OPERATOR).shape == (120, 240, 3)


def test_bad_frames_are_refused_before_anything_is_written(
    store: Store, frames_site: SiteInfo
) -> None:
    bad_frames: list[Any] = [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32)]
    for bad in bad_frames:
        with pytest.raises(ImageError):
            store.snapshots.keep(frames_site.code, bad, detector=FixedDetector(), actor=OPERATOR)
    assert not snapshot_dir(store.settings).exists()
