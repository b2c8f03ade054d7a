"""The cached gallery is brought up to date subject by subject after a change, equals a full
rebuild after any sequence of changes, and loses an erased subject at once (R-23)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from facegate.core.config import Settings
from facegate.store import SiteInfo, Store
from facegate.store import service as store_service
from facegate.store.crypto import decrypt_template
from facegate.store.gallery_updates import MAX_UPDATED_SUBJECTS, changed_subjects
from facegate.store.indexed_gallery import IndexedGallery
from facegate.store.queries import bump_gallery
from facegate.store.records import DeletionReason
from facegate.store.schema import GalleryChange, Site

from .helpers import MODEL, OPERATOR, consented_subject, enrolled_subject, random_embeddings

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
