"""Every read of face data through the store's API is an audit event (R-27).

The methods that hand out face data are found by their return type (a gallery, a template
array, a kept frame's image), so a new one fails here until it is covered below.
"""

from __future__ import annotations

import dataclasses
import inspect
import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.privacy.notice_template import starter_notice
from facegate.store import SiteInfo, Store
from facegate.store.module import StoreModule
from facegate.store.records import DataCategory, ProcessingMethod, Purpose
from facegate.vision.detect import HogDetector

from .helpers import MODEL, NOTICE_VERSION, OPERATOR, enrolled_subject

#: Return types that carry face data: decrypted templates or a frame with a face.
FACE_DATA_TYPES = ("Gallery", "NDArray", "RGBImage")
#: Each public method that returns face data, and the audit action its reads are logged as.
FACE_DATA_READERS = {
    "Store.load_gallery": "templates.read",
    "Store.load_subject_templates": "templates.read",
    "Snapshots.read": "snapshot.read",
}
KEEPING_SITE = "harbour-view"


def _face_data_readers(store: Store) -> set[str]:
    owners: list[object] = [store]
    owners += [value for value in vars(store).values() if isinstance(value, StoreModule)]
    found = set()
    for owner in owners:
        for name, function in inspect.getmembers(type(owner), inspect.isfunction):
            returns = str(inspect.get_annotations(function).get("return", ""))
            if not name.startswith("_") and any(t in returns for t in FACE_DATA_TYPES):
                found.add(f"{type(owner).__name__}.{name}")
    return found


def _last_event(raw_db: sqlite3.Connection) -> tuple[int, str, str]:
    row = raw_db.execute(
        "SELECT id, action, actor FROM audit_event ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return int(row[0]), str(row[1]), str(row[2])


def _kept_frame(store: Store, frame: NDArray[np.uint8]) -> str:
    """A kept frame at a site whose notice declares that disputed frames are kept."""
    store.create_site(KEEPING_SITE, "Harbour View", actor=OPERATOR)
    notice = starter_notice("Harbour View", "Harbour Co.", "front desk")
    notice = dataclasses.replace(
        notice,
        purposes=notice.purposes | {Purpose.DISPUTE_REVIEW},
        methods=notice.methods | {ProcessingMethod.KEEP_DISPUTED_FRAMES},
        scope=notice.scope | {DataCategory.DISPUTED_FRAMES},
    )
    store.notices.publish(KEEPING_SITE, NOTICE_VERSION, notice, actor=OPERATOR)
    store.retention.set_policy(KEEPING_SITE, keep_disputed_frames=True, actor=OPERATOR)
    info = store.snapshots.keep(KEEPING_SITE, frame, detector=HogDetector(), actor=OPERATOR)
    return info.id


def test_the_face_data_readers_are_the_known_ones(store: Store) -> None:
    assert _face_data_readers(store) == set(FACE_DATA_READERS)


@pytest.mark.rule("R-27")
def test_every_read_of_face_data_is_audited(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection, face_rgb: NDArray[np.uint8]
) -> None:
    subject, _ = enrolled_subject(store, count=2)
    snapshot_id = _kept_frame(store, face_rgb)
    calls: dict[str, Callable[[], Any]] = {
        "Store.load_gallery": lambda: store.load_gallery(site.code, MODEL, "gate:1", "identify"),
        "Store.load_subject_templates": lambda: store.load_subject_templates(
            subject.id, MODEL, "gate:1", "verify"
        ),
        "Snapshots.read": lambda: store.snapshots.read(snapshot_id, actor="gate:1"),
    }
    assert set(calls) == set(FACE_DATA_READERS)
    # Twice each: a second read (e.g. a gallery served from the cache) is audited too.
    for method, call in [*calls.items(), *calls.items()]:
        before, _, _ = _last_event(raw_db)
        assert len(call()) > 0
        after, action, actor = _last_event(raw_db)
        assert (after, action, actor) == (before + 1, FACE_DATA_READERS[method], "gate:1"), method
    assert store.verify_audit().ok
