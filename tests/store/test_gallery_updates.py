"""The cached gallery is brought up to date subject by subject after a change or when a visit
or consent ends, equals a full rebuild after any sequence of changes, and loses an erased
subject at once (R-23)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from facegate.core.config import Settings
from facegate.store import SiteInfo, Store, SubjectKind
from facegate.store import service as store_service
from facegate.store.crypto import decrypt_template
from facegate.store.gallery_updates import MAX_UPDATED_SUBJECTS, changed_subjects
from facegate.store.indexed_gallery import IndexedGallery
from facegate.store.queries import bump_gallery
from facegate.store.records import DeletionReason
from facegate.store.schema import AuditEvent, GalleryChange, Site, utcnow

from .helpers import (
    MODEL,
    NOTICE_VERSION,
    OPERATOR,
    consented_subject,
    enrolled_subject,
    random_embeddings,
)

Contents = dict[str, tuple[tuple[str, ...], bytes]]


def _load(store: Store, site: SiteInfo) -> IndexedGallery:
    return store.load_gallery(site.code, MODEL, "gate:1", "identify")


def _contents(gallery: IndexedGallery) -> Contents:
    """Each subject's template ids (matching order) and vectors."""
    return {
        subject: (gallery.template_ids(subject), gallery.vectors(subject).tobytes())
        for subject in gallery.subject_ids
    }


@pytest.fixture
def fresh(settings: Settings, store: Store) -> Iterator[Callable[[SiteInfo], Contents]]:
    """A second store on the same database whose galleries are always built in full."""
    with Store.open(settings) as other:

        def build(site: SiteInfo) -> Contents:
            other.evict_galleries()
            return _contents(_load(other, site))

        yield build


@pytest.fixture
def decrypted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The subject of every template the store decrypts, in order."""
    seen: list[str] = []
    real = decrypt_template

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["subject_id"])
        return real(*args, **kwargs)

    monkeypatch.setattr(store_service, "decrypt_template", counting)
    return seen


def _changes(store: Store, site: SiteInfo) -> list[tuple[int, str | None]]:
    with store.reading() as session:
        rows = session.execute(
            select(GalleryChange.version, GalleryChange.subject_id)
            .where(GalleryChange.site_id == site.id)
            .order_by(GalleryChange.version)
        )
        return [(version, subject) for version, subject in rows]


def test_every_change_logs_its_subject_and_version(store: Store, site: SiteInfo) -> None:
    subject, _ = enrolled_subject(store, count=2)
    store.retention.record_move_out(subject.id, actor=OPERATOR)
    store.delete_subject(subject.id, DeletionReason.MOVE_OUT, OPERATOR)
    with store.reading() as session:
        version = session.scalars(select(Site.gallery_version).where(Site.id == site.id)).one()
    changes = _changes(store, site)
    assert [v for v, _ in changes] == list(range(version - len(changes) + 1, version + 1))
    assert {s for _, s in changes} == {subject.id}
    assert len(changes) >= 3


def test_an_enrollment_decrypts_only_the_new_subject_into_the_same_gallery(
    store: Store, site: SiteInfo, decrypted: list[str], fresh: Callable[[SiteInfo], Contents]
) -> None:
    for seed in range(5):
        enrolled_subject(store, count=2, seed=seed, name=f"Resident {seed}")
    warm = _load(store, site)
    assert len(decrypted) == 10
    decrypted.clear()
    newcomer, vectors = enrolled_subject(store, count=3, seed=9, name="Newcomer")
    updated = _load(store, site)
    assert updated is warm
    assert decrypted == [newcomer.id] * 3
    assert len(updated) == 13
    np.testing.assert_array_equal(updated.vectors(newcomer.id), np.stack(vectors))
    assert _contents(updated) == fresh(site)


@pytest.mark.rule("R-23")
def test_an_erased_subject_leaves_the_cached_gallery_at_once_without_a_rebuild(
    store: Store, site: SiteInfo, decrypted: list[str]
) -> None:
    staying, _ = enrolled_subject(store, count=1, seed=1, name="Zhang San")
    leaving, _ = enrolled_subject(store, count=2, seed=2, name="Li Si")
    warm = _load(store, site)
    probe = warm.vectors(leaving.id)[0].copy()
    decrypted.clear()
    store.delete_subject(leaving.id, DeletionReason.REQUEST, OPERATOR)
    # In the erasure's own step, before any load:
    assert leaving.id not in store.cached_subject_ids()
    assert warm.subject_ids == (staying.id,)
    assert [s for s, _ in warm.nearest_subjects(probe, 5)] == [staying.id]
    assert _load(store, site) is warm
    assert decrypted == []


def test_a_change_without_a_subject_rebuilds_the_gallery(
    store: Store, site: SiteInfo, fresh: Callable[[SiteInfo], Contents]
) -> None:
    enrolled_subject(store, count=1)
    warm = _load(store, site)
    with store.transaction() as session:
        bump_gallery(session, site.id, None)
    rebuilt = _load(store, site)
    assert rebuilt is not warm
    assert _contents(rebuilt) == fresh(site)


def test_a_gap_in_the_change_log_rebuilds_the_gallery(
    store: Store, site: SiteInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("facegate.store.queries.GALLERY_CHANGES_KEPT", 2)
    enrolled_subject(store, count=1)
    warm = _load(store, site)
    for seed in range(1, 4):
        enrolled_subject(store, count=1, seed=seed, name=f"Resident {seed}")
    assert len(_changes(store, site)) == 2
    rebuilt = _load(store, site)
    assert rebuilt is not warm
    assert len(rebuilt) == 4


def test_the_change_log_names_subjects_or_asks_for_a_rebuild(store: Store, site: SiteInfo) -> None:
    first = consented_subject(store, name="Zhang San")
    second = consented_subject(store, name="Li Si")
    with store.transaction() as session:
        start = session.scalars(select(Site.gallery_version).where(Site.id == site.id)).one()
        bump_gallery(session, site.id, first.id)
        bump_gallery(session, site.id, second.id)
        bump_gallery(session, site.id, first.id)
    with store.reading() as session:
        assert changed_subjects(session, site.id, start, start + 3) == frozenset(
            {first.id, second.id}
        )
        assert changed_subjects(session, site.id, start + 2, start + 3) == frozenset({first.id})
        assert changed_subjects(session, site.id, start + 3, start + 3) == frozenset()
        assert changed_subjects(session, site.id, start + 3, start + 2) is None
        # Version 0 is the site's creation, never logged: a gap.
        assert changed_subjects(session, site.id, -1, start + 3) is None
    with store.transaction() as session:
        for n in range(MAX_UPDATED_SUBJECTS + 1):
            bump_gallery(session, site.id, f"{n:032x}")
    with store.reading() as session:
        end = start + 3 + MAX_UPDATED_SUBJECTS + 1
        assert changed_subjects(session, site.id, start + 3, end) is None


def _random_step(store: Store, site: SiteInfo, rng: random.Random, step: int) -> None:
    """One enrollment, withdrawal, re-consent, erasure or move-out, picked at random."""
    people = store.list_subjects(site.code)
    choice = rng.choice(["enroll_new", "enroll_more", "withdraw", "erase", "move_out"])
    if choice == "enroll_new" or not people:
        enrolled_subject(store, count=rng.randint(1, 3), seed=1000 + step, name=f"P{step}")
        return
    subject = rng.choice(people)
    if choice == "enroll_more":
        if store.get_subject(subject.id).moved_out_at is not None:
            return
        if not store.get_subject(subject.id).has_active_consent:
            version = store.notices.current(site.code).version
            store.consents.record(subject.id, version, "signature", "scan:again", actor=OPERATOR)
        count = rng.randint(1, 2)
        store.enroll(
            subject.id, random_embeddings(count, 2000 + step), MODEL, [0.9] * count, OPERATOR
        )
    elif choice == "withdraw":
        store.consents.withdraw_all(subject.id, actor=OPERATOR)
    elif choice == "erase":
        store.delete_subject(subject.id, DeletionReason.REQUEST, OPERATOR)
    elif store.get_subject(subject.id).moved_out_at is None:
        store.retention.record_move_out(subject.id, actor=OPERATOR)


@pytest.mark.rule("R-23")
@pytest.mark.parametrize("seed", [0, 1])
def test_random_changes_leave_the_updated_gallery_equal_to_a_full_rebuild(
    store: Store, site: SiteInfo, fresh: Callable[[SiteInfo], Contents], seed: int
) -> None:
    rng = random.Random(seed)
    for k in range(4):
        enrolled_subject(store, count=2, seed=k, name=f"Resident {k}")
    warm = _load(store, site)
    for step in range(24):
        for _ in range(rng.randint(1, 2)):  # sometimes two changes between loads
            _random_step(store, site, rng, step * 2 + _)
        assert _contents(_load(store, site)) == fresh(site), f"after step {step}"
    assert _load(store, site) is warm, "updated in place, never rebuilt"


def test_two_threads_loading_after_changes_both_get_the_full_rebuild(
    store: Store, site: SiteInfo, fresh: Callable[[SiteInfo], Contents]
) -> None:
    for k in range(6):
        enrolled_subject(store, count=2, seed=k, name=f"Resident {k}")
    _load(store, site)
    probe = random_embeddings(1, seed=77)[0]
    for round_ in range(4):
        enrolled_subject(store, count=1, seed=100 + round_, name=f"Newcomer {round_}")
        victim = store.list_subjects(site.code)[round_]
        store.delete_subject(victim.id, DeletionReason.REQUEST, OPERATOR)
        start = threading.Barrier(3)
        results: list[Contents] = []
        errors: list[BaseException] = []

        def decide(
            start: threading.Barrier = start,
            results: list[Contents] = results,
            errors: list[BaseException] = errors,
        ) -> None:
            try:
                start.wait()
                gallery = _load(store, site)
                gallery.nearest_subjects(probe, 3)
                results.append(_contents(gallery))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=decide) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        expected = fresh(site)
        assert results == [expected] * 3


class _Clock:
    """The store's clock, moved by hand: ends pass without sleeping."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    frozen = _Clock()
    monkeypatch.setattr(store_service, "utcnow", frozen)
    return frozen


def _cached_flags(store: Store, site: SiteInfo) -> list[bool]:
    """The ``cached`` flag of each of the site's ``templates.read`` events, oldest first."""
    with store.reading() as session:
        rows = session.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == "templates.read", AuditEvent.site_id == site.id)
            .order_by(AuditEvent.id)
        )
        return [bool(json.loads(detail)["cached"]) for detail in rows]


@pytest.mark.rule("R-24")
def test_ended_visits_and_consents_leave_the_cached_gallery_without_a_rebuild(
    store: Store,
    site: SiteInfo,
    clock: _Clock,
    decrypted: list[str],
    fresh: Callable[[SiteInfo], Contents],
) -> None:
    start = clock.now
    resident, _ = enrolled_subject(store, count=2, name="Zhang San")
    visit_ends = start + timedelta(hours=1)
    visitor = store.add_subject(
        site.code, "Wang Wu", SubjectKind.VISITOR, expires_at=visit_ends, actor=OPERATOR
    )
    store.consents.record(visitor.id, NOTICE_VERSION, "signature", "scan:visit", actor=OPERATOR)
    store.enroll(visitor.id, random_embeddings(2, seed=4), MODEL, [0.9] * 2, OPERATOR)
    short = consented_subject(store, name="Zhao Liu")
    (consent,) = store.consents.list(short.id)
    store.consents.withdraw(consent.id, actor=OPERATOR)
    consent_ends = start + timedelta(hours=2)
    store.consents.record(
        short.id,
        NOTICE_VERSION,
        "signature",
        "scan:short",
        expires_at=consent_ends,
        actor=OPERATOR,
    )
    store.enroll(short.id, random_embeddings(1, seed=5), MODEL, [0.9], OPERATOR)
    warm = _load(store, site)
    assert set(warm.subject_ids) == {resident.id, visitor.id, short.id}
    visitor_probe = warm.vectors(visitor.id)[0].copy()
    decrypted.clear()

    clock.now = visit_ends
    assert _load(store, site) is warm, "updated in place, not rebuilt"
    assert decrypted == [], "the ended visit is only removed: nothing decrypted"
    assert set(warm.subject_ids) == {resident.id, short.id}
    assert visitor.id not in store.cached_subject_ids()
    assert visitor.id not in [s for s, _ in warm.nearest_subjects(visitor_probe, 5)]
    assert _contents(warm) == fresh(site)
    decrypted.clear()  # the fresh build's

    # The next end is the short consent's: served from the cache until just before it...
    clock.now = consent_ends - timedelta(seconds=1)
    flags = len(_cached_flags(store, site))
    assert _load(store, site) is warm
    assert _cached_flags(store, site)[flags:] == [True]
    # ...and brought up to date at it, in place again.
    clock.now = consent_ends
    assert _load(store, site) is warm
    assert _cached_flags(store, site)[-1] is False
    assert warm.subject_ids == (resident.id,)
    assert decrypted == []
    assert _contents(warm) == fresh(site)
    # The resident's consent ends much later: served from the cache again.
    clock.now = consent_ends + timedelta(minutes=1)
    assert _load(store, site) is warm
    assert _cached_flags(store, site)[-1] is True


def test_a_subject_still_usable_after_one_end_is_re_read_with_its_next_end(
    store: Store,
    site: SiteInfo,
    clock: _Clock,
    decrypted: list[str],
    fresh: Callable[[SiteInfo], Contents],
) -> None:
    """A consent ends but the visit goes on under a later one: the subject's remaining
    templates are re-read, and the gallery's next end is theirs."""
    start = clock.now
    resident, _ = enrolled_subject(store, count=1, name="Zhang San")
    visit_ends = start + timedelta(hours=3)
    visitor = store.add_subject(
        site.code, "Wang Wu", SubjectKind.VISITOR, expires_at=visit_ends, actor=OPERATOR
    )
    first_ends = start + timedelta(hours=1)
    first = store.consents.record(
        visitor.id,
        NOTICE_VERSION,
        "signature",
        "scan:first",
        expires_at=first_ends,
        actor=OPERATOR,
    )
    store.enroll(visitor.id, random_embeddings(1, seed=4), MODEL, [0.9], OPERATOR)
    store.consents.record(visitor.id, NOTICE_VERSION, "signature", "scan:second", actor=OPERATOR)
    store.enroll(visitor.id, random_embeddings(1, seed=5), MODEL, [0.9], OPERATOR)
    warm = _load(store, site)
    if len(warm.template_ids(visitor.id)) != 2:
        pytest.skip("a newer consent replaces the first one here: no two live consents")
    assert first.expires_at is not None
    decrypted.clear()

    clock.now = first_ends
    assert _load(store, site) is warm
    assert decrypted == [visitor.id]
    assert len(warm.template_ids(visitor.id)) == 1
    assert _contents(warm) == fresh(site)
    decrypted.clear()  # the fresh build's
    clock.now = visit_ends - timedelta(seconds=1)
    assert _load(store, site) is warm
    assert _cached_flags(store, site)[-1] is True
    clock.now = visit_ends
    assert _load(store, site) is warm
    assert decrypted == []
    assert warm.subject_ids == (resident.id,)
    assert _contents(warm) == fresh(site)
