"""The Store API: sites, subjects, enrollment and template reads."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from facegate.core.config import Settings
from facegate.errors import (
    AlreadyExistsError,
    InvalidRecordError,
    NotFoundError,
    StoreError,
)
from facegate.store import (
    EMBEDDING_DIM,
    Gallery,
    SiteInfo,
    Store,
    SubjectInfo,
    SubjectKind,
    SubjectStatus,
)

from .helpers import (
    MODEL,
    OPERATOR,
    consented_subject,
    enrolled_subject,
    random_embeddings,
    ready_site,
)


def test_sites_are_created_listed_and_unique(store: Store) -> None:
    north = store.create_site("north-gate", "North Gate")
    south = store.create_site("south-gate", "South Gate")
    assert store.get_site("north-gate") == north
    assert store.list_sites() == [north, south]
    with pytest.raises(AlreadyExistsError, match="north-gate"):
        store.create_site("north-gate", "Another")
    with pytest.raises(NotFoundError, match="west-gate"):
        store.get_site("west-gate")


@pytest.mark.parametrize(
    ("code", "name"), [("", "x"), ("bad code", "x"), ("ok", " "), ("ok", "a\x00b")]
)
def test_malformed_site_is_refused(store: Store, code: str, name: str) -> None:
    with pytest.raises(InvalidRecordError):
        store.create_site(code, name)
    assert store.list_sites() == []


def test_new_subject_has_no_consent_and_no_templates(store: Store, site: SiteInfo) -> None:
    leaves = datetime.now(UTC) + timedelta(days=2)
    subject = store.add_subject(site.code, "  Li Si ", "visitor", expires_at=leaves, actor=OPERATOR)
    assert subject == SubjectInfo(
        id=subject.id,
        site_code=site.code,
        display_name="Li Si",
        kind=SubjectKind.VISITOR,
        status=SubjectStatus.ACTIVE,
        created_at=subject.created_at,
        deleted_at=None,
        has_active_consent=False,
        template_count=0,
        expires_at=leaves,
        resident_number=subject.resident_number,
    )
    assert subject.resident_number is not None
    assert len(subject.resident_number) == 6
    assert subject.resident_number.isdigit()
    assert len(subject.id) == 32
    assert int(subject.id, 16) >= 0
    assert subject.created_at.tzinfo is not None
    assert store.get_subject(subject.id) == subject


def test_chinese_names_are_kept_exactly(store: Store) -> None:
    site = store.create_site("yangguang", "阳光花园")
    subject = store.add_subject(site.code, "张三", SubjectKind.RESIDENT)
    assert (store.get_site("yangguang").name, store.get_subject(subject.id).display_name) == (
        "阳光花园",
        "张三",
    )


def test_add_subject_checks_its_input(store: Store, site: SiteInfo) -> None:
    with pytest.raises(InvalidRecordError, match="kind 'owner' is not one of"):
        store.add_subject(site.code, "Li Si", "owner")
    with pytest.raises(InvalidRecordError, match="display name"):
        store.add_subject(site.code, "", SubjectKind.RESIDENT)
    with pytest.raises(NotFoundError, match="west-gate"):
        store.add_subject("west-gate", "Li Si", SubjectKind.RESIDENT)
    assert store.list_subjects(site.code) == []


def test_get_unknown_subject(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.get_subject("0" * 32)
    with pytest.raises(InvalidRecordError, match="hex id"):
        store.get_subject("Zhang San")


def test_list_subjects_reports_consent_and_template_count(store: Store, site: SiteInfo) -> None:
    enrolled, _ = enrolled_subject(store, count=3, name="Zhang San")
    waiting = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    listed = store.list_subjects(site.code)
    assert [(s.id, s.has_active_consent, s.template_count) for s in listed] == [
        (enrolled.id, True, 3),
        (waiting.id, False, 0),
    ]


def test_enroll_returns_ids_and_templates_read_back_exactly(store: Store, site: SiteInfo) -> None:
    subject = consented_subject(store)
    vectors = random_embeddings(3, seed=7)
    ids = store.enroll(subject.id, vectors, MODEL, [0.9, 0.8, 0.7], OPERATOR)
    assert len(set(ids)) == 3
    templates = store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")
    assert templates.dtype == np.float32
    assert templates.shape == (3, EMBEDDING_DIM)
    np.testing.assert_array_equal(np.sort(templates, axis=0), np.sort(np.stack(vectors), axis=0))
    assert store.load_subject_templates(subject.id, "other_model", "gate:1", "verify").shape == (
        0,
        EMBEDDING_DIM,
    )


def test_enroll_accepts_float64_and_stores_float32(store: Store, site: SiteInfo) -> None:
    subject = consented_subject(store)
    vector = np.random.default_rng(1).standard_normal(EMBEDDING_DIM)  # float64, as dlib gives
    store.enroll(subject.id, [vector], MODEL, [0.9], OPERATOR)
    (stored,) = store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")
    np.testing.assert_allclose(stored, vector, rtol=1e-6, atol=0)


@pytest.mark.parametrize(
    ("embeddings", "qualities", "message"),
    [
        ([], [], "no embeddings"),
        ([np.zeros(64, np.float32)], [0.9], r"shape \(64,\)"),
        ([np.zeros((1, 128), np.float32)], [0.9], r"shape \(1, 128\)"),
        ([np.zeros(128, np.int64)], [0.9], "floating-point"),
        ([np.full(128, np.nan, np.float32)], [0.9], "not finite"),
        ([np.full(128, 1e300)], [0.9], "not finite"),
        ([np.zeros(128, np.float32)], [0.9, 0.8], "one quality each"),
        ([np.zeros(128, np.float32)], [float("inf")], "quality 0 is not finite"),
    ],
)
def test_enroll_refuses_malformed_templates(
    store: Store,
    site: SiteInfo,
    embeddings: list[np.ndarray],
    qualities: list[float],
    message: str,
) -> None:
    subject = consented_subject(store)
    with pytest.raises(InvalidRecordError, match=message):
        store.enroll(subject.id, embeddings, MODEL, qualities, OPERATOR)
    assert store.get_subject(subject.id).template_count == 0


def test_enroll_unknown_subject_is_not_found(store: Store, site: SiteInfo) -> None:
    with pytest.raises(NotFoundError):
        store.enroll("0" * 32, random_embeddings(1), MODEL, [0.9], OPERATOR)


def test_gallery_holds_active_consented_subjects_of_one_site_and_model(
    store: Store, site: SiteInfo
) -> None:
    first, first_vectors = enrolled_subject(store, count=2, seed=1, name="Zhang San")
    second, second_vectors = enrolled_subject(store, count=3, seed=2, name="Li Si")
    enrolled_subject(store, count=1, seed=3, name="Wang Wu")  # deleted below
    gone = store.list_subjects(site.code)[-1]
    store.delete_subject(gone.id, "move_out", OPERATOR)
    withdrawn, _ = enrolled_subject(store, count=1, seed=4, name="Zhao Liu")
    store.consents.withdraw(store.consents.list(withdrawn.id)[0].id, actor=OPERATOR)
    store.enroll(first.id, random_embeddings(1, seed=5), "other_model", [0.9], OPERATOR)
    ready_site(store, "north-gate", "North Gate")
    outsider = consented_subject(store, "north-gate", "Sun Qi")
    store.enroll(outsider.id, random_embeddings(1, seed=6), MODEL, [0.9], OPERATOR)

    gallery = store.load_gallery(site.code, MODEL, "gate:1", "identify")
    assert gallery.subject_ids == (first.id, second.id)
    assert gallery.embeddings.shape == (5, EMBEDDING_DIM)
    assert gallery.embeddings.dtype == np.float32
    assert gallery.owners.dtype == np.int64
    assert gallery.owners.tolist() == [0, 0, 1, 1, 1]
    for owner, vectors in ((0, first_vectors), (1, second_vectors)):
        rows = gallery.embeddings[gallery.owners == owner]
        np.testing.assert_array_equal(np.sort(rows, axis=0), np.sort(np.stack(vectors), axis=0))
    assert not gallery.embeddings.flags.writeable
    assert not gallery.owners.flags.writeable


def test_empty_gallery_has_typed_empty_arrays(store: Store, site: SiteInfo) -> None:
    gallery = store.load_gallery(site.code, MODEL, "gate:1", "identify")
    assert gallery.subject_ids == ()
    assert gallery.embeddings.shape == (0, EMBEDDING_DIM)
    assert gallery.embeddings.dtype == np.float32
    assert gallery.owners.shape == (0,)
    assert len(gallery) == 0


def test_gallery_of_unknown_site_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.load_gallery("west-gate", MODEL, "gate:1", "identify")


def test_gallery_refuses_inconsistent_arrays() -> None:
    with pytest.raises(ValueError, match="owners must have shape"):
        Gallery(("a",), np.zeros((2, EMBEDDING_DIM), np.float32), np.zeros(1, np.int64))
    with pytest.raises(ValueError, match="index subject_ids"):
        Gallery(("a",), np.zeros((1, EMBEDDING_DIM), np.float32), np.ones(1, np.int64))
    with pytest.raises(ValueError, match="embeddings must have shape"):
        Gallery((), np.zeros((0, 64), np.float32), np.zeros(0, np.int64))


def test_records_are_frozen_values(store: Store, site: SiteInfo) -> None:
    subject = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        subject.display_name = "Someone else"  # type: ignore[misc]
    assert dataclasses.is_dataclass(site)
    assert store.get_subject(subject.id).display_name == "Li Si"


def test_closed_store_refuses_use(settings: Settings) -> None:
    store = Store.open(settings)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_sites()


def test_shared_data_dir_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o750)
    with Store.open(Settings(data_dir=data_dir)) as store:
        assert store.list_sites() == []
    assert "chmod 700" in caplog.text
    assert (data_dir / "facegate.sqlite").exists()
