"""Open-set 1:N metrics on synthetic scores and embeddings, where every answer is known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from facegate.bench.acquire import Acquisition
from facegate.bench.datasets import LabelledImage
from facegate.bench.identification import (
    IdentitySplit,
    Protocol,
    build_protocol,
    candidate_scores,
    mated_hits,
    protocol_scores,
    rows_at_fpirs,
    run_identification,
    split_identities,
    top_scores,
)
from facegate.errors import DatasetError
from facegate.vision.record import EMBEDDING_DIM

INF = math.inf


def _images(photos: dict[str, int]) -> list[LabelledImage]:
    return [
        LabelledImage(Path(f"{name}/{k}.jpg"), name)
        for name, n in sorted(photos.items())
        for k in range(n)
    ]


def _protocol(templates: int = 1, people: int = 2, left_out: int = 0) -> Protocol:
    empty = np.zeros(0, dtype=np.intp)
    return Protocol(
        templates,
        tuple(f"p{k}" for k in range(people)),
        empty,
        empty,
        empty,
        empty,
        empty,
        left_out,
    )


def test_split_enrols_half_of_the_eligible_and_is_seeded() -> None:
    images = _images({f"p{k}": 3 for k in range(10)} | {"single": 1})
    split = split_identities(images, seed=0)
    assert len(split.enrolled) == 5
    assert len(split.non_mated) == 6  # the other five and the one-photo person
    assert "single" in split.non_mated
    assert set(split.enrolled).isdisjoint(split.non_mated)
    assert split_identities(images, seed=0) == split
    assert split_identities(images, seed=1) != split


def test_split_needs_two_people_with_enough_photos() -> None:
    with pytest.raises(DatasetError, match="at least 2 people with 2\\+ photos, found 1"):
        split_identities(_images({"a": 2, "b": 1, "c": 1}), seed=0)


def test_protocol_leaves_out_people_with_too_few_photos_and_counts_them() -> None:
    images = _images({"a": 5, "b": 3, "c": 2, "d": 4})
    split = IdentitySplit(enrolled=("a", "b", "c"), non_mated=("d",))
    acquired = np.ones(len(images), dtype=bool)
    one = build_protocol(images, acquired, split, 1, seed=3)
    three = build_protocol(images, acquired, split, 3, seed=3)
    assert one.people == ("a", "b", "c")
    assert (one.gallery.size, one.mated.size, one.people_left_out) == (3, 7, 0)
    # b has 3 photos: all would be templates, none left to probe with; c has only 2.
    assert three.people == ("a",)
    assert (three.gallery.size, three.mated.size, three.people_left_out) == (3, 2, 2)
    assert_array_equal(one.non_mated, three.non_mated)
    assert [images[k].identity for k in one.non_mated] == ["d"] * 4
    # The same seeded order: the 1-photo template of a is among its 3-photo templates.
    assert int(one.gallery[0]) in set(three.gallery.tolist())


def test_templates_come_only_from_photos_with_a_face() -> None:
    images = _images({"a": 3, "b": 2})
    acquired = np.array([False, False, True, True, True])  # a's first two failed
    split = IdentitySplit(enrolled=("a",), non_mated=("b",))
    protocol = build_protocol(images, acquired, split, 1, seed=0)
    assert protocol.gallery.tolist() == [2]
    assert sorted(protocol.mated.tolist()) == [0, 1]  # failed photos still probe (and miss)
    with pytest.raises(ValueError, match="templates_per_person"):
        build_protocol(images, acquired, split, 0, seed=0)


def test_candidate_scores_take_each_persons_best_template() -> None:
    similarity = np.array([[0.1, 0.7, 0.3], [0.5, -0.2, 0.4], [-INF, -INF, -INF]])
    owner = np.array([0, 0, 1], dtype=np.intp)
    best = candidate_scores(similarity, owner, 3)  # person 2 has no template
    assert_array_equal(best, [[0.7, 0.3, -INF], [0.5, 0.4, -INF], [-INF, -INF, -INF]])
    with pytest.raises(ValueError, match="similarity must be"):
        candidate_scores(similarity, owner[:2], 3)


def test_mated_hit_needs_the_own_identity_strictly_on_top() -> None:
    candidates = np.array(
        [
            [0.9, 0.2],  # right person on top
            [0.3, 0.6],  # wrong person on top
            [0.5, 0.5],  # a tie counts against the probe
            [-INF, -INF],  # failure to acquire
        ]
    )
    truth = np.array([0, 0, 0, 1], dtype=np.intp)
    assert_array_equal(mated_hits(candidates, truth), [0.9, -INF, -INF, -INF])
    assert_array_equal(top_scores(candidates), [0.9, 0.6, 0.5, -INF])
    assert_array_equal(mated_hits(np.array([[0.4]]), np.array([0], dtype=np.intp)), [0.4])


def test_perfect_separation_gives_fnir_zero() -> None:
    scores = protocol_scores(np.linspace(0.6, 0.9, 50), np.linspace(0.0, 0.4, 200))
    rows = rows_at_fpirs(scores, _protocol())
    assert [(r.fpir, r.fnir, r.rank1) for r in rows] == [(0.1, 0.0, 1.0), (0.01, 0.0, 1.0)]
    assert all(r.threshold <= 0.6 and r.fpir_measured <= r.fpir for r in rows)
    assert all(r.resolvable for r in rows)


def test_hand_computed_fnir_at_fpir() -> None:
    # Strangers' top scores 0.1 ... 1.0: FPIR 0.1 allows 1 of 10, so the threshold lies
    # just above 0.9 (only 1.0 passes); FPIR 0.01 allows none (just above 1.0).
    non_mated = np.arange(1, 11) / 10
    # Mated: 0.95 and 0.92 found above 0.9; 0.5 found but below; one with the wrong
    # person on top (-inf); 1.2 found above everything.
    mated = np.array([0.95, 0.92, 0.5, -INF, 1.2])
    rows = rows_at_fpirs(protocol_scores(mated, non_mated), _protocol(templates=3))
    lenient, strict = rows
    assert lenient.threshold == math.nextafter(0.9, INF)
    assert lenient.fnir == pytest.approx(2 / 5, abs=1e-12)
    assert lenient.fpir_measured == pytest.approx(0.1, abs=1e-12)
    assert strict.threshold == math.nextafter(1.0, INF)
    assert strict.fnir == pytest.approx(4 / 5, abs=1e-12)
    assert strict.fpir_measured == 0.0
    assert not strict.resolvable  # 10 strangers cannot resolve FPIR 0.01
    assert lenient.rank1 == pytest.approx(4 / 5, abs=1e-12)
    assert (lenient.n_mated, lenient.n_nonmated, lenient.templates_per_person) == (5, 10, 3)


def test_both_kinds_of_probe_are_needed() -> None:
    with pytest.raises(DatasetError, match="both mated and non-mated"):
        protocol_scores(np.zeros(0), np.ones(3))


def test_run_identification_on_separable_embeddings() -> None:
    """Each person's photos sit near their own axis: everyone is found, nobody else is."""
    rng = np.random.default_rng(0)
    photos = {f"p{k:02d}": 5 for k in range(20)}
    images = _images(photos)
    acquired: dict[Path, Acquisition] = {}
    for image in images:
        axis = int(image.identity[1:])
        vector = np.zeros(EMBEDDING_DIM, dtype=np.float32)
        vector[axis] = 1.0
        vector += rng.normal(0.0, 0.01, EMBEDDING_DIM).astype(np.float32)
        acquired[image.path] = Acquisition(vector)
    split = split_identities(images, seed=0)
    # A stranger without a face: a correct rejection, still counted.
    failed = next(im.path for im in images if im.identity in split.non_mated)
    acquired[failed] = Acquisition(None, failure="no_face")
    report = run_identification(images, acquired, split, seed=0)
    assert (report.enrolled_people, report.non_mated_people, report.fta_images) == (10, 10, 1)
    by_count = {(r.templates_per_person, r.fpir): r for r in report.results}
    assert set(by_count) == {(1, 0.1), (1, 0.01), (3, 0.1), (3, 0.01)}
    for (count, _), row in by_count.items():
        assert row.fnir == 0.0
        assert row.rank1 == 1.0
        assert row.gallery_people == 10
        assert row.n_nonmated == 50
        assert row.n_mated == 10 * (5 - count)
    assert set(report.curves) == {1, 3}
