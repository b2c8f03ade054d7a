"""The gallery cache: reused while nothing changed, dropped by every change, audited always
(R-23, R-24, R-27)."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, event, select

from facegate.core.config import Settings
from facegate.errors import PolicyError
from facegate.store import SiteInfo, Store, SubjectKind
from facegate.store.gallery_cache import GalleryCache
from facegate.store.indexed_gallery import IndexedGallery, UsableTemplate
from facegate.store.records import DeletionReason
from facegate.store.schema import AuditEvent, utcnow

from .helpers import MODEL, NOTICE_VERSION, OPERATOR, enrolled_subject, random_embeddings

#: How far ahead the short-lived visit and consent below end.
SHORT = timedelta(seconds=2.5)


def _reads(store: Store, site: SiteInfo) -> list[dict[str, object]]:
    """The details of the site's ``templates.read`` audit events, oldest first."""
    with store.reading() as session:
        rows = session.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == "templates.read", AuditEvent.site_id == site.id)
            .order_by(AuditEvent.id)
        )
        return [json.loads(detail) for detail in rows]


def _load(store: Store, site: SiteInfo) -> tuple[str, ...]:
    return store.load_gallery(site.code, MODEL, "gate:1", "identify").subject_ids


@pytest.mark.rule("R-27")
def test_r27_a_cached_gallery_is_reused_and_every_load_is_still_audited(
    store: Store, site: SiteInfo
) -> None:
    subject, _ = enrolled_subject(store, count=2)
    first = store.load_gallery(site.code, MODEL, "gate:1", "identify")
    second = store.load_gallery(site.code, MODEL, "gate:1", "identify")
    assert second is first
    assert [(r["count"], r["cached"]) for r in _reads(store, site)] == [(2, False), (2, True)]
    assert first.subject_ids == (subject.id,)


@pytest.mark.rule("R-23")
def test_r23_every_write_that_changes_templates_rebuilds_the_gallery(
    store: Store, site: SiteInfo
) -> None:
    first, _ = enrolled_subject(store, count=1, name="Zhang San")
    assert _load(store, site) == (first.id,)
    second, _ = enrolled_subject(store, count=1, seed=3, name="Li Si")
    assert _load(store, site) == (first.id, second.id)
    store.delete_subject(first.id, DeletionReason.REQUEST, OPERATOR)
    assert first.id not in store.cached_subject_ids()
    assert _load(store, site) == (second.id,)
    (consent,) = store.consents.list(second.id)
    store.consents.withdraw(consent.id, actor=OPERATOR)
    assert _load(store, site) == ()


@pytest.mark.rule("R-24")
def test_r24_move_out_stops_face_entry_at_once(store: Store, site: SiteInfo) -> None:
    subject, _ = enrolled_subject(store, count=1)
    assert _load(store, site) == (subject.id,)
    store.retention.record_move_out(subject.id, actor=OPERATOR)
    assert _load(store, site) == ()
    # Not purged yet (that is retention's job), but no face entry either.
    assert store.get_subject(subject.id).template_count == 1
    with pytest.raises(PolicyError, match="moved out"):
        store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")
    with pytest.raises(PolicyError, match="moved out"):
        store.enroll(subject.id, random_embeddings(1), MODEL, [0.9], OPERATOR)


@pytest.mark.rule("R-24")
def test_r24_time_alone_ends_a_cached_entry(store: Store, site: SiteInfo) -> None:
    """A visit, a consent and a move-out that end with no write still leave the gallery."""
    resident, _ = enrolled_subject(store, count=1, name="Zhang San")
    ends = utcnow() + SHORT
    visitor = store.add_subject(
        site.code, "Wang Wu", SubjectKind.VISITOR, expires_at=ends, actor=OPERATOR
    )
    store.consents.record(
        visitor.id, NOTICE_VERSION, "signature", "scan:visitor-form", actor=OPERATOR
    )
    store.enroll(visitor.id, random_embeddings(1, seed=4), MODEL, [0.9], OPERATOR)
    short_consent, _ = enrolled_subject(store, count=1, seed=5, name="Zhao Liu")
    (consent,) = store.consents.list(short_consent.id)
    store.consents.withdraw(consent.id, actor=OPERATOR)
    consent_ends = store.consents.record(
        short_consent.id,
        NOTICE_VERSION,
        "signature",
        "scan:short-form",
        expires_at=utcnow() + SHORT,
        actor=OPERATOR,
    ).expires_at
    store.enroll(short_consent.id, random_embeddings(1, seed=6), MODEL, [0.9], OPERATOR)
    store.retention.record_move_out(resident.id, ends, actor=OPERATOR)

    assert set(_load(store, site)) == {resident.id, visitor.id, short_consent.id}
    assert consent_ends is not None
    while utcnow() <= max(ends, consent_ends):
        time.sleep(0.1)
    assert _load(store, site) == ()
    assert [r["cached"] for r in _reads(store, site)] == [False, False]


@pytest.mark.rule("R-23")
def test_r23_a_missing_key_skips_the_subject_and_reconcile_erases_the_templates(
    store: Store, site: SiteInfo, caplog: pytest.LogCaptureFixture
) -> None:
    lost, _ = enrolled_subject(store, count=2, name="Zhang San")
    kept, vectors = enrolled_subject(store, count=1, seed=2, name="Li Si")
    store.keystore.destroy((lost.id,))  # as if the key store had lost it
    with caplog.at_level(logging.WARNING):
        gallery = store.load_gallery(site.code, MODEL, "gate:1", "identify")
    assert gallery.subject_ids == (kept.id,)
    np.testing.assert_allclose(gallery.embeddings, np.stack(vectors), atol=1e-6)
    assert "data key is gone" in caplog.text
    assert "Zhang San" not in caplog.text

    report = store.reconcile()
    (receipt,) = report.receipts
    assert (receipt.subject_id, receipt.reason, receipt.subject_erased) == (
        lost.id,
        DeletionReason.RECONCILE,
        False,
    )
    assert receipt.templates_deleted == 2
    after = store.get_subject(lost.id)
    assert (after.display_name, after.template_count) == ("Zhang San", 0)
    assert store.audit_events(lost.id)[-1].action == "templates.erased"
    assert store.reconcile().receipts == []


def test_building_a_gallery_reads_the_key_store_once_not_once_per_subject(
    store: Store, site: SiteInfo, settings: Settings
) -> None:
    # At 100,000 subjects one key-store transaction each took about a minute, holding the
    # main database's write lock that every gate decision needs.
    enrolled = {enrolled_subject(store, 1, seed, f"Resident {seed}")[0].id for seed in range(4)}
    keystore = str(settings.resolved_keystore_path.resolve())
    begins: list[str] = []

    def count_begin(connection: Connection) -> None:
        if connection.engine.url.database == keystore:
            begins.append("begin")

    event.listen(Engine, "begin", count_begin)
    try:
        gallery = store.load_gallery(site.code, MODEL, "gate:1", "identify")
    finally:
        event.remove(Engine, "begin", count_begin)
    assert set(gallery.subject_ids) == enrolled
    assert len(begins) == 1


@pytest.mark.rule("R-11", "R-24")
def test_a_gallery_is_decrypted_without_the_write_lock_and_a_change_meanwhile_is_not_served(
    store: Store, site: SiteInfo, settings: Settings, db_path: Path
) -> None:
    # Card and PIN decisions write (their audit event): a gallery build of seconds must not
    # hold the write lock they need. And what changed during the build is not served.
    staying, _ = enrolled_subject(store, 1, 0, "Zhang San")
    leaving, _ = enrolled_subject(store, 1, 1, "Li Si")
    keystore = str(settings.resolved_keystore_path.resolve())
    during: list[str] = []
    with Store.open(settings) as worker:  # another process on the same data dir

        def while_building(connection: Connection) -> None:
            if connection.engine.url.database != keystore or during:
                return
            probe = sqlite3.connect(db_path, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
            finally:
                probe.close()
            during.append("write lock free")
            worker.retention.record_move_out(leaving.id, actor=OPERATOR)

        event.listen(Engine, "begin", while_building)
        try:
            gallery = store.load_gallery(site.code, MODEL, "gate:1", "identify")
        finally:
            event.remove(Engine, "begin", while_building)
    assert during == ["write lock free"]
    assert gallery.subject_ids == (staying.id,)
    assert _reads(store, site)[-1]["count"] == 1
    assert _load(store, site) == (staying.id,)


@pytest.mark.rule("R-27")
def test_a_gallery_logged_by_mistake_shows_no_template_values(
    store: Store, site: SiteInfo, caplog: pytest.LogCaptureFixture
) -> None:
    subject, _ = enrolled_subject(store, count=1)
    gallery = store.load_gallery(site.code, MODEL, "gate:1", "identify")
    logging.getLogger("facegate.test").warning("gallery: %r", gallery)
    assert subject.id in caplog.text
    assert "embeddings" not in caplog.text
    assert "float32" not in caplog.text


def test_an_update_goes_on_when_someone_was_forgotten_meanwhile() -> None:
    """A forget (another worker's change, an erasure's last step) can land between reading
    who changed and applying it: the update must not fall back to a full rebuild, and the
    forgotten person stays marked to be read back."""
    vectors = random_embeddings(3, seed=5)
    templates = [UsableTemplate(f"s{i}", f"t{i}", vectors[i]) for i in range(3)]
    cache = GalleryCache()
    cache.put("site", MODEL, 1, None, IndexedGallery(templates))
    now = utcnow()

    assert cache.forget_subject("site", "s0") == 1
    updated = cache.advance("site", MODEL, (1, 2), now, {"s1": [templates[1]]})

    assert updated is not None
    assert set(updated.subject_ids) == {"s1", "s2"}
    assert updated.ended_subjects(now) == {"s0"}  # read back at the next load
    assert cache.get("site", MODEL, 2, now) is None
